import type { ModelName, PartitionKind } from '../../protocol/names.js';

/** A cut [stage, block]: after block `block` (0-based) of stage `stage`; stage 0 is the stem. */
export type Cut = readonly [number, number];

const c = (s: string): Cut[] =>
  s.split(' ').map((p) => {
    const [a, b] = p.split(',').map(Number);
    return [a, b] as const;
  });

/** Published cut tables (contsup-method.md section 4). */
const TABLES: Record<PartitionKind, Partial<Record<ModelName, Record<number, Cut[]>>>> = {
  equal: {
    resnet32: {
      2: c('2,1'),
      4: c('1,2 2,1 3,0'),
      8: c('1,0 1,2 1,4 2,1 2,3 3,0 3,2'),
      16: c('0,0 1,0 1,1 1,2 1,3 1,4 2,0 2,1 2,2 2,3 2,4 3,0 3,1 3,2 3,3'),
    },
    resnet110: {
      2: c('2,8'),
      4: c('1,11 2,7 3,3'),
      8: c('1,4 1,11 2,0 2,7 2,14 3,3 3,10'),
      16: c('1,1 1,4 1,7 1,10 1,13 1,16 2,1 2,4 2,7 2,11 2,15 3,1 3,5 3,9 3,13'),
    },
  },
  memory: {
    resnet32: {
      2: c('1,3'),
      4: c('1,2 1,4 2,2'),
      8: c('1,1 1,2 1,3 2,1 2,2 3,1 3,2'),
    },
    resnet110: {
      2: c('1,14'),
      4: c('1,6 1,14 2,8'),
    },
  },
};

/** Unit index of a cut: the stem is unit 0, block b of stage s is 1 + (s-1)*n + b. */
function cutUnit(cut: Cut, blocksPerStage: number): number {
  const [s, b] = cut;
  return s === 0 ? 0 : 1 + (s - 1) * blocksPerStage + b;
}

/**
 * Splits `unitCount` backbone units into `k` modules. Returns, per module, the
 * first unit index (inclusive) and the end (exclusive). Uses the published
 * table when there is one, else an even split of blocks.
 */
export function partitionUnits(
  model: ModelName,
  blocksPerStage: number,
  k: number,
  kind: PartitionKind = 'equal',
): Array<[number, number]> {
  const unitCount = 1 + 3 * blocksPerStage;
  if (!Number.isInteger(k) || k < 1 || k > unitCount) {
    throw new Error(`modules must be an integer from 1 to ${unitCount} for ${model} (it has ${unitCount} units: stem + ${unitCount - 1} blocks), got ${k}`);
  }
  const table = TABLES[kind][model]?.[k];
  const ends: number[] = table
    ? table.map((cut) => cutUnit(cut, blocksPerStage) + 1)
    : Array.from({ length: k - 1 }, (_, i) => Math.round(((i + 1) * unitCount) / k));
  ends.push(unitCount);
  const ranges: Array<[number, number]> = [];
  let start = 0;
  for (const end of ends) {
    if (end <= start) throw new Error(`partition of ${model} into ${k} modules is not increasing`);
    ranges.push([start, end]);
    start = end;
  }
  return ranges;
}

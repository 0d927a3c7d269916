/**
 * Rewrites fidelity.md and fidelity.svg from fidelity.json (after a table was
 * edited by hand, e.g. runs removed to rerun them, or the report's format changed).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/fidelity/rewrite-report.js [bench/results]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chartSvg, markdownReport, type FidelityResults } from './report.js';

const dir = process.argv[2] ?? 'bench/results';
const res = JSON.parse(readFileSync(join(dir, 'fidelity.json'), 'utf8')) as FidelityResults;
writeFileSync(join(dir, 'fidelity.md'), markdownReport(res));
writeFileSync(join(dir, 'fidelity.svg'), chartSvg(res));
process.stdout.write(markdownReport(res));

import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../protocol/errors.js';
import { JOB_SPEC_DEFAULTS, maxModulesFor, parseJobSpec } from '../../protocol/job-spec.js';
import { jobSpec } from './fixtures.js';

function message(input: unknown): string {
  try {
    parseJobSpec(input);
  } catch (err: unknown) {
    if (err instanceof ProtocolError) return err.message;
    throw err;
  }
  throw new Error('expected parseJobSpec to throw');
}

describe('JobSpec', () => {
  it('fills every default into an empty REST body', () => {
    expect(parseJobSpec({})).toEqual({
      model: 'resnet32',
      modules: 4,
      context: 'E',
      loss: 'ce',
      head: '1c2f',
      decoder: false,
      dataset: 'synthetic',
      epochs: 1,
      batchSize: 32,
      lr: 0.1,
      wire: 'float32',
      minDevices: 1,
      seed: 1,
      checkpointEvery: 0,
      partition: 'equal',
    });
    expect(parseJobSpec({})).toEqual(JOB_SPEC_DEFAULTS);
  });

  it('keeps given fields and the optional limits', () => {
    const spec = { ...jobSpec(), limitTrain: 512, limitTest: 128 };
    expect(parseJobSpec(spec)).toEqual(spec);
    expect(parseJobSpec({ modules: 16, context: 'R16E' })).toMatchObject({ modules: 16, context: 'R16E', model: 'resnet32' });
  });

  it('lists every bad field with its allowed values in one error', () => {
    const text = message({ model: 'resnet99', modules: '4', context: 'R0E', lr: 0, wire: 'bf16', extra: 1 });
    expect(text).toMatch(/^job spec: /);
    expect(text).toContain('model: got "resnet99"; allowed: resnet20, resnet32, resnet44, resnet56, resnet110');
    expect(text).toContain('modules: expected number, got "4"');
    expect(text).toContain('context: must be R0, E, R<n> or R<n>E with n >= 1, e.g. R1E (got "R0E")');
    expect(text).toContain('lr: value must be > 0 (got 0)');
    expect(text).toContain('wire: got "bf16"; allowed: float32, float16, int8');
    expect(text).toContain('unknown field(s) extra');
  });

  it('accepts an image folder as folder:<absolute path> and refuses relative, over-long or control-character paths', () => {
    expect(parseJobSpec({ dataset: 'folder:/data/pets' }).dataset).toBe('folder:/data/pets');
    expect(parseJobSpec({ dataset: 'folder:C:\\data\\pets' }).dataset).toBe('folder:C:\\data\\pets');
    for (const dataset of ['folder:pets', 'folder:./pets', 'folder:', 'folder:/a\nb', `folder:/${'x'.repeat(1100)}`, 'imagenet']) {
      expect(() => parseJobSpec({ dataset }), dataset).toThrow(/dataset/);
    }
    expect(message({ dataset: 'folder:pets' })).toContain('folder:<absolute path>');
  });

  it('accepts exactly the context modes R0, E, R<n>, R<n>E', () => {
    for (const context of ['R0', 'E', 'R1', 'R2', 'R4', 'R1E', 'R4E']) expect(parseJobSpec({ context }).context).toBe(context);
    expect(parseJobSpec({ modules: 16, context: 'R16' }).context).toBe('R16');
    for (const context of ['R0E', 'Rn', 'RnE', 'R01', 'e', 'R', 'ER1', ' E', 'R1E ']) {
      expect(() => parseJobSpec({ context }), context).toThrow(/context: must be/);
    }
  });

  it('bounds the numeric fields', () => {
    expect(message({ batchSize: 4097 })).toContain('batchSize: value must be <= 4096');
    expect(message({ batchSize: 0 })).toContain('batchSize');
    expect(message({ modules: 65 })).toContain('modules: value must be <= 64');
    expect(message({ epochs: 1.5 })).toContain('epochs');
    expect(message({ minDevices: 0 })).toContain('minDevices');
    expect(message({ checkpointEvery: -1 })).toContain('checkpointEvery');
    expect(message({ limitTrain: 0 })).toContain('limitTrain');
    expect(message({ decoder: 'yes' })).toContain('decoder: expected boolean, got "yes"');
    expect(message({ partition: 'speed' })).toContain('partition: got "speed"; allowed: equal, memory');
  });

  it('refuses more modules than the model has cut points', () => {
    expect(maxModulesFor('resnet20')).toBe(10);
    expect(maxModulesFor('resnet32')).toBe(16);
    expect(maxModulesFor('resnet110')).toBe(55);
    expect(message({ model: 'resnet32', modules: 17 })).toContain('modules: resnet32 can be cut into at most 16 modules, got 17');
    expect(parseJobSpec({ model: 'resnet110', modules: 55 }).modules).toBe(55);
  });

  it('bounds n of R<n> by the module count, naming the limit, however long the number', () => {
    expect(message({ modules: 4, context: 'R5' })).toContain('context: R<n> needs n <= modules (4), got n = 5');
    expect(message({ context: 'R99999999999999999999' })).toContain('needs n <= modules (4), got n = 99999999999999999999');
    expect(message({ modules: 8, context: `R${'9'.repeat(5000)}E` })).toContain('needs n <= modules (8)');
  });

  it('caps every open-ended field with a message naming the cap', () => {
    expect(message({ limitTrain: 10_000_001 })).toContain('limitTrain: value must be <= 10000000');
    expect(message({ limitTest: 1e9 })).toContain('limitTest: value must be <= 10000000');
    expect(message({ epochs: 10_001 })).toContain('epochs: value must be <= 10000');
    expect(message({ lr: 101 })).toContain('lr: value must be <= 100');
    expect(message({ lr: Number.POSITIVE_INFINITY })).toContain('lr');
    expect(message({ seed: 2 ** 60 })).toContain('seed');
    expect(message({ checkpointEvery: 1e12 })).toContain('checkpointEvery: value must be <= 10000000');
    expect(message({ minDevices: 65 })).toContain('minDevices: value must be <= 64');
    expect(parseJobSpec({ limitTrain: 10_000_000, epochs: 10_000, lr: 100, minDevices: 64 })).toMatchObject({ limitTrain: 10_000_000 });
  });

  it('refuses non-object input', () => {
    for (const input of [null, 'resnet32', [], 3]) expect(() => parseJobSpec(input)).toThrow(ProtocolError);
  });
});

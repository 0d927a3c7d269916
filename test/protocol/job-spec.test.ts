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
    for (const context of ['R0', 'E', 'R1', 'R2', 'R16', 'R1E', 'R8E']) expect(parseJobSpec({ context }).context).toBe(context);
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

  it('refuses non-object input', () => {
    for (const input of [null, 'resnet32', [], 3]) expect(() => parseJobSpec(input)).toThrow(ProtocolError);
  });
});

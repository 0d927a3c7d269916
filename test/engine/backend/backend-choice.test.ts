import { describe, expect, it } from 'vitest';
import { chooseBackend, SoftwareAdapter, type Activated, type BackendEntry } from '../../../engine/backend/backend-choice.js';

// The ordering rules alone: each entry records that it was tried and answers as its
// environment would (the real loaders are covered by select-backend and node-webgpu tests).

type Name = 'gpu' | 'gl' | 'wasm' | 'cpu';
type Answer = 'ok' | 'software' | 'fails';

function entries(answers: Record<Name, Answer>, tried: string[]): BackendEntry<Name>[] {
  return (Object.keys(answers) as Name[]).map((name) => ({
    name,
    activate: ({ allowSoftware }): Promise<Activated> => {
      tried.push(`${name}${allowSoftware ? '+sw' : ''}`);
      const answer = answers[name];
      if (answer === 'fails') return Promise.reject(new Error(`${name} is missing`));
      if (answer === 'software' && !allowSoftware) return Promise.reject(new SoftwareAdapter(`${name} is software`));
      return Promise.resolve({ detail: name, software: answer === 'software' });
    },
  }));
}

const wording = {
  skipped: (name: string, err: unknown) => `${name}: ${(err as Error).message}`,
  none: (tried: readonly string[]) => new Error(`none of ${tried.join(', ')}`),
};

describe('chooseBackend', () => {
  it('passes over a software backend, naming why, and never comes back to it without softwareAfter', async () => {
    const tried: string[] = [];
    const choice = await chooseBackend(entries({ gpu: 'software', gl: 'fails', wasm: 'ok', cpu: 'ok' }, tried), undefined, wording, () => {});
    expect(choice.name).toBe('wasm');
    expect(choice.skipped).toEqual(['gpu: gpu is software', 'gl: gl is missing']);
    const onlySoftware = chooseBackend(entries({ gpu: 'software', gl: 'fails', wasm: 'fails', cpu: 'fails' }, []), undefined, wording, () => {});
    await expect(onlySoftware).rejects.toThrow('none of gpu, gl, wasm, cpu');
  });

  it('uses a software backend when it is forced', async () => {
    const tried: string[] = [];
    const choice = await chooseBackend(entries({ gpu: 'software', gl: 'ok', wasm: 'ok', cpu: 'ok' }, tried), 'gpu', wording, () => {});
    expect(choice).toMatchObject({ name: 'gpu', software: true, skipped: [] });
    expect(tried).toEqual(['gpu+sw']);
  });

  it('tries software backends again right after softwareAfter, in their own order', async () => {
    const tried: string[] = [];
    const choice = await chooseBackend(entries({ gpu: 'software', gl: 'software', wasm: 'fails', cpu: 'ok' }, tried), undefined, wording, () => {}, 'wasm');
    expect(choice).toMatchObject({ name: 'gpu', software: true });
    expect(tried).toEqual(['gpu', 'gl', 'wasm', 'gpu+sw']);
    const second: string[] = [];
    await chooseBackend(entries({ gpu: 'fails', gl: 'software', wasm: 'ok', cpu: 'ok' }, second), undefined, wording, () => {}, 'wasm');
    expect(second).toEqual(['gpu', 'gl', 'wasm']);
  });
});

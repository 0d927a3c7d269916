import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { deviceCommand, runDevice } from '../../cli/device-command.js';
import type { DeviceJoin } from '../../protocol/device-messages.js';
import { FakeCoordinator } from '../client/fake-coordinator.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
  vi.restoreAllMocks();
});

async function coordinator(): Promise<FakeCoordinator> {
  const c = await FakeCoordinator.start();
  cleanups.push(() => c.close());
  return c;
}

describe('contsup device', () => {
  it('registers the device command with its options', () => {
    const program = new Command();
    deviceCommand(program);
    const cmd = program.commands.find((c) => c.name() === 'device')!;
    expect(cmd.options.map((o) => o.long)).toEqual(['--url', '--token', '--name', '--backend', '--memory-mb', '--threads', '--listen', '--advertise', '--speed-gflops']);
  });

  it('takes --listen and --advertise as HOST:PORT only, naming the form it wants', () => {
    const program = new Command().exitOverride().configureOutput({ writeErr: () => {} });
    deviceCommand(program);
    const cmd = program.commands.find((c) => c.name() === 'device')!;
    cmd.action(() => {});
    program.parse(['node', 'contsup', 'device', '--listen', '127.0.0.1:0', '--advertise', '[::1]:4100']);
    expect(cmd.opts()).toMatchObject({ listen: '127.0.0.1:0', advertise: '[::1]:4100' });
    expect(() => program.parse(['node', 'contsup', 'device', '--listen', '127.0.0.1'])).toThrow(/--listen must be HOST:PORT/);
    expect(() => program.parse(['node', 'contsup', 'device', '--advertise', 'host:99999'])).toThrow(/--advertise must be HOST:PORT/);
  });

  it('joins with the chosen backend and memory, and leaves cleanly when aborted', async () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const coord = await coordinator();
    const abort = new AbortController();
    const run = runDevice({ url: coord.url, token: 't', name: 'cli-device', backend: 'wasm', memoryMb: 512 }, abort.signal);
    const join = await coord.waitFor<DeviceJoin>('device:join');
    expect(join).toMatchObject({ token: 't', name: 'cli-device', kind: 'node', backend: 'wasm', memoryBytes: 512 * 2 ** 20 });
    expect(join.userAgent).toMatch(/^contsup device; node v\d+/);
    abort.abort();
    await expect(run).resolves.toBeUndefined();
    expect(coord.violations).toEqual([]);
  });

  it('prints the threads the backend really uses beside the backend', async () => {
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const coord = await coordinator();
    const abort = new AbortController();
    const run = runDevice({ url: coord.url, token: 't', backend: 'wasm', threads: 2 }, abort.signal);
    await coord.waitFor<DeviceJoin>('device:join');
    abort.abort();
    await run;
    expect(lines.join('')).toMatch(/backend: wasm \((no )?SIMD, 1 thread\); threads: 1 in use \(2 requested/);
  });

  it('fails with the reason when the coordinator refuses the token', async () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const coord = await coordinator();
    coord.refuseJoin = 'bad-token';
    await expect(runDevice({ url: coord.url, token: 'wrong', backend: 'wasm' })).rejects.toThrow(/refused this device: bad-token: join refused/);
  });
});

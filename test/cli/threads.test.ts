import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { deviceCommand } from '../../cli/device-command.js';
import { startCommand } from '../../cli/start-command.js';
import { parseThreads, threadsLine, threadsPerDevice } from '../../cli/threads.js';

function program(): Command {
  const p = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  deviceCommand(p);
  startCommand(p);
  for (const c of p.commands) c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  return p;
}

describe('--threads', () => {
  it('accepts a positive integer and rejects zero, fractions and words', () => {
    expect(parseThreads('3')).toBe(3);
    for (const bad of ['0', '-1', '1.5', 'two', '']) expect(() => parseThreads(bad)).toThrow(/--threads must be an integer >= 1/);
  });

  it('divides the cores between local devices, never below one thread', () => {
    expect(threadsPerDevice(1, 8)).toBe(8);
    expect(threadsPerDevice(2, 8)).toBe(4);
    expect(threadsPerDevice(3, 8)).toBe(2);
    expect(threadsPerDevice(3, 2)).toBe(1);
  });

  it('says when the backend uses fewer threads than asked for', () => {
    expect(threadsLine(1, 1)).toBe('threads: 1');
    expect(threadsLine(2, 1)).toMatch(/^threads: 1 in use \(2 requested; this backend runs one thread in Node\)$/);
    expect(threadsLine(4, null)).toMatch(/4 requested/);
  });

  it('is an option of device and start, and both refuse 0 before doing anything', async () => {
    for (const name of ['device', 'start']) {
      const cmd = program().commands.find((c) => c.name() === name)!;
      expect(cmd.options.map((o) => o.long)).toContain('--threads');
      await expect(program().parseAsync(['node', 'contsup', name, '--threads', '0'])).rejects.toThrow(/--threads must be an integer >= 1, got "0"/);
    }
  });
});

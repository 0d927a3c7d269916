import { execFileSync } from 'node:child_process';

/**
 * Network namespaces for the "hosts on one machine" tests: each namespace is
 * a host with its own addresses, joined to the others by veth pairs whose
 * ends can be shaped with `tc`. Everything here is made by the test and
 * removed by `destroy` (deleting a namespace deletes the veth ends in it, and
 * with them their peers).
 */

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Why namespaces cannot be used here, or null when they can (root, `ip` and `tc` present, a test namespace made and removed). */
export function netnsUnavailable(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not running as root (ip netns needs CAP_SYS_ADMIN)';
  const probe = `cs-probe-${process.pid}`;
  try {
    execFileSync('tc', ['-V'], { stdio: 'ignore' });
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
    return null;
  } catch (err: unknown) {
    return `cannot create a network namespace with ip/tc: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  }
}

/** Whether the kernel has netem (delay); some kernels only have tbf (rate). */
export function hasNetem(ns: string, dev: string): boolean {
  try {
    ip('netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', dev, 'root', 'netem', 'delay', '1ms');
    ip('netns', 'exec', ns, 'tc', 'qdisc', 'del', 'dev', dev, 'root');
    return true;
  } catch {
    return false;
  }
}

export interface LinkShape {
  /** e.g. '50mbit', '1gbit'. */
  rate: string;
  /** One-way delay in ms (netem); ignored where the kernel has no netem. */
  delayMs?: number;
}

/** The namespaces of one test, with the links between them; `destroy` removes them all. */
export class NetnsLab {
  readonly namespaces: string[] = [];
  /** Shaped device ends: namespace + interface. */
  private readonly ends: Array<{ ns: string; dev: string }> = [];
  netem: boolean | null = null;

  constructor(private readonly prefix: string) {}

  /** A namespace with loopback up; its name is `<prefix>-<name>`. */
  host(name: string): string {
    const ns = `${this.prefix}-${name}`;
    ip('netns', 'add', ns);
    this.namespaces.push(ns);
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
    return ns;
  }

  /**
   * A veth pair between two namespaces (`null`: the test's own), each end
   * with its address on a /24, and both ends up.
   */
  link(a: { ns: string | null; dev: string; addr: string }, b: { ns: string | null; dev: string; addr: string }): void {
    const inNs = (ns: string | null, ...args: string[]): string => (ns === null ? ip(...args) : ip('netns', 'exec', ns, 'ip', ...args));
    // Made in the first end's namespace, the peer moved to the second's.
    inNs(a.ns, 'link', 'add', a.dev, 'type', 'veth', 'peer', 'name', b.dev);
    if (b.ns !== a.ns) inNs(a.ns, 'link', 'set', b.dev, 'netns', b.ns === null ? '1' : b.ns);
    for (const end of [a, b]) {
      inNs(end.ns, 'addr', 'add', `${end.addr}/24`, 'dev', end.dev);
      inNs(end.ns, 'link', 'set', end.dev, 'up');
      if (end.ns !== null) this.ends.push({ ns: end.ns, dev: end.dev });
    }
  }

  /** An address on the namespace's loopback, reached by the others through `routes`. */
  address(ns: string, addr: string): void {
    ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${addr}/32`, 'dev', 'lo');
  }

  route(ns: string | null, to: string, via: string): void {
    if (ns === null) ip('route', 'add', `${to}/32`, 'via', via);
    else ip('netns', 'exec', ns, 'ip', 'route', 'add', `${to}/32`, 'via', via);
  }

  /** Shapes what leaves `dev` in `ns` (replacing any earlier shape): netem rate + delay where there is netem, else tbf. */
  shape(ns: string, dev: string, s: LinkShape): string {
    this.netem ??= hasNetem(ns, dev);
    const spec =
      this.netem && s.delayMs !== undefined
        ? ['netem', 'delay', `${s.delayMs}ms`, 'rate', s.rate, 'limit', '10000']
        : // burst: a few ms at the rate (tbf splits larger GSO segments); latency bounds the queue.
          ['tbf', 'rate', s.rate, 'burst', s.rate.endsWith('gbit') ? '1mb' : '32kb', 'latency', '200ms'];
    ip('netns', 'exec', ns, 'tc', 'qdisc', 'replace', 'dev', dev, 'root', ...spec);
    return spec.join(' ');
  }

  /** Removes every namespace (and so every link); the test's own veth end goes with its peer. */
  destroy(): void {
    for (const ns of this.namespaces.splice(0).reverse()) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // Already gone: nothing to undo.
      }
    }
  }
}

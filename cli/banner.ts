import { networkInterfaces } from 'node:os';

/** Addresses other machines can reach this one at, for the device page and command. */
function lanAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
    .map((a) => a!.address);
}

/** The coordinator's own URL, then its LAN URLs when it listens on every interface. */
export function coordinatorUrls(c: { url: string; port: number }, host: string): string[] {
  return host === '0.0.0.0' ? [c.url, ...lanAddresses().map((a) => `http://${a}:${c.port}`)] : [c.url];
}

/** What the banner needs of a started coordinator. */
export interface BannerInput {
  /** Addresses the coordinator answers at: this machine's first, then ones other machines can reach. */
  urls: readonly string[];
  joinToken: string;
  adminToken: string;
}

/**
 * The lines `contsup coordinator` and `npm start` print: where the dashboard
 * is, the device page with its join token (a browser joins by opening it),
 * the tokens, and where monitoring reads. The first line is what scripts
 * (and the runtime tests) look for.
 */
export function bannerLines(b: BannerInput): string[] {
  const local = b.urls[0]!;
  // Other machines reach the coordinator at its last (LAN) address, when it has one.
  const reachable = b.urls[b.urls.length - 1]!;
  return [
    `contsup coordinator on ${b.urls.join('  ')}`,
    `dashboard:   ${local}/`,
    `device page: ${reachable}/device?token=${encodeURIComponent(b.joinToken)}`,
    `join token:  ${b.joinToken}   (Node device: npx contsup device --url ${reachable} --token ${b.joinToken})`,
    `admin token: ${b.adminToken}   (the dashboard's job controls and REST mutations need it)`,
    `monitoring:  ${local}/metrics (Prometheus)  ${local}/api/health`,
  ];
}

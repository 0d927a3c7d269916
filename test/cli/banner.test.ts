import { describe, expect, it } from 'vitest';
import { bannerLines, coordinatorUrls } from '../../cli/banner.js';

describe('coordinator banner', () => {
  const lines = bannerLines({ urls: ['http://127.0.0.1:8080', 'http://192.168.1.20:8080'], joinToken: 'j+k/l', adminToken: 'adm1n' });

  it('starts with the line scripts look for, listing every address', () => {
    expect(lines[0]).toBe('contsup coordinator on http://127.0.0.1:8080  http://192.168.1.20:8080');
  });

  it('prints the dashboard URL, the device page with its join token in the query, and the admin token', () => {
    expect(lines).toContain('dashboard:   http://127.0.0.1:8080/');
    // Other machines open the device page: it uses the LAN address, and the token is URL-encoded.
    expect(lines).toContain('device page: http://192.168.1.20:8080/device?token=j%2Bk%2Fl');
    expect(lines.find((l) => l.startsWith('admin token:'))).toMatch(/^admin token: adm1n\b/);
    expect(lines.find((l) => l.startsWith('join token:'))).toContain('contsup device --url http://192.168.1.20:8080 --token j+k/l');
    expect(lines.find((l) => l.startsWith('monitoring:'))).toContain('http://127.0.0.1:8080/metrics');
  });

  it('lists only the own URL when the coordinator listens on one interface', () => {
    expect(coordinatorUrls({ url: 'http://127.0.0.1:9', port: 9 }, '127.0.0.1')).toEqual(['http://127.0.0.1:9']);
    expect(coordinatorUrls({ url: 'http://127.0.0.1:9', port: 9 }, '0.0.0.0')[0]).toBe('http://127.0.0.1:9');
  });
});

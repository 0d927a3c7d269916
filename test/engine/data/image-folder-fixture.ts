import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';

export type Rgb = { r: number; g: number; b: number };

/** Writes one solid-colour image file (made with sharp), creating its folders. */
export async function writeImage(path: string, width: number, height: number, background: Rgb, format: 'png' | 'jpeg'): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const img = sharp({ create: { width, height, channels: 3, background } });
  writeFileSync(path, await (format === 'png' ? img.png() : img.jpeg()).toBuffer());
}

/** A small two-class folder: `perClass` images per class in train/, 2 per class in test/. */
export async function writeTwoClassFolder(root: string, perClass: number): Promise<void> {
  const classes: Array<[string, Rgb]> = [
    ['apples', { r: 220, g: 30, b: 20 }],
    ['sky', { r: 30, g: 90, b: 230 }],
  ];
  for (const [name, colour] of classes) {
    for (let i = 0; i < perClass; i++) await writeImage(join(root, 'train', name, `${i}.png`), 20 + i, 24, colour, i % 2 === 0 ? 'png' : 'jpeg');
    for (let i = 0; i < 2; i++) await writeImage(join(root, 'test', name, `${i}.jpg`), 30, 30, colour, 'jpeg');
  }
}

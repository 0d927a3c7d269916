// The layer rule, checked by `npm run lint`:
//   protocol/ imports nothing of the project; engine/ imports protocol/;
//   client/ and server/ import engine/ and protocol/ (never each other);
//   web/ imports client/, engine/, protocol/; cli/ may import all but bench/;
//   bench/ may import anything; nothing (tests included) imports bench/.
// A violation names the rule and both files: "<rule>: <importer> → <imported>".

/** Project folders; a layer that may import only some of them forbids the rest. */
const layers = ['protocol', 'engine', 'client', 'server', 'cli', 'web', 'bench', 'test'];
const not = (...allowed) => `^(${layers.filter((l) => !allowed.includes(l)).join('|')})/`;

/** Sockets and the NestJS/HTTP-server stack: the coordinator's, not the engine's. */
const sockets = '^node_modules/(socket\\.io[^/]*|@socket\\.io|ws)/|^(node:)?(net|dgram)$';
const serverStack = '^node_modules/(@nestjs|express|socket\\.io)/';

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'protocol-imports-no-layer',
      comment: 'protocol/ is the wire format: it imports nothing of the project.',
      severity: 'error',
      from: { path: '^protocol/' },
      to: { path: not('protocol') },
    },
    {
      name: 'engine-imports-protocol-only',
      comment: 'engine/ (model, train, data, backend) imports protocol/ only.',
      severity: 'error',
      from: { path: '^engine/' },
      to: { path: not('protocol', 'engine') },
    },
    {
      name: 'engine-has-no-sockets-or-nest',
      comment: 'engine/ runs the same on a device and in a test: no sockets, no NestJS, no HTTP server.',
      severity: 'error',
      from: { path: '^engine/' },
      to: { path: [sockets, serverStack] },
    },
    {
      name: 'client-imports-engine-protocol-only',
      comment: 'client/ is the device runtime: engine/ and protocol/ only, never the coordinator or the CLI.',
      severity: 'error',
      from: { path: '^client/' },
      to: { path: not('protocol', 'engine', 'client') },
    },
    {
      name: 'device-side-has-no-nest',
      comment: 'client/ and web/ run in the browser: no NestJS or server-side socket.io.',
      severity: 'error',
      from: { path: '^(client|web)/' },
      to: { path: serverStack },
    },
    {
      name: 'server-imports-engine-protocol-only',
      comment: 'server/ is the coordinator: engine/ and protocol/, never client/ or cli/.',
      severity: 'error',
      from: { path: '^server/' },
      to: { path: not('protocol', 'engine', 'server') },
    },
    {
      name: 'cli-imports-no-bench',
      comment: 'cli/ is the only folder that joins client/ and server/; it may import all but bench/.',
      severity: 'error',
      from: { path: '^cli/' },
      to: { path: '^(bench|test)/' },
    },
    {
      name: 'web-imports-client-engine-protocol-only',
      comment: 'web/ is the browser front end: client/, engine/ and protocol/ only.',
      severity: 'error',
      from: { path: '^web/' },
      to: { path: not('protocol', 'engine', 'client', 'web') },
    },
    {
      name: 'nothing-imports-bench',
      comment: 'bench/ may import anything, but nothing (tests included) imports bench/.',
      severity: 'error',
      from: { pathNot: '^bench/' },
      to: { path: '^bench/' },
    },
    {
      name: 'no-unresolvable',
      comment: 'An import the checker cannot resolve would slip past every rule above.',
      severity: 'error',
      from: {},
      // The one exception: Vite resolves this exported asset with its ?url suffix; the checker's resolver cannot.
      to: { couldNotResolve: true, pathNot: '^onnxruntime-web/ort-wasm-simd-threaded[.]wasm[?]url$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    // Type-only imports count too: a layer must not even know another's types.
    tsPreCompilationDeps: true,
    // Resolves the sources' `./x.js` specifiers to `./x.ts` like tsc does.
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};

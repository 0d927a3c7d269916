// Prints the compiler/linker flags for the libtorch that build.mjs chose (passed in
// CONTSUP_LIBTORCH_* variables); binding.gyp calls this while node-gyp configures.
const what = process.argv[2];
const include = process.env.CONTSUP_LIBTORCH_INCLUDE || '/usr/include';
const lib = process.env.CONTSUP_LIBTORCH_LIB || '/usr/lib/x86_64-linux-gnu';
const abi = process.env.CONTSUP_LIBTORCH_CXX11_ABI || '1';
if (what === 'include') console.log([include, `${include}/torch/csrc/api/include`].join(' '));
else if (what === 'defines') console.log(`_GLIBCXX_USE_CXX11_ABI=${abi}`);
else if (what === 'libs') console.log(`-L${lib} -Wl,-rpath,${lib} -ltorch_cpu -lc10`);
else throw new Error(`libtorch-flags: unknown argument ${what}`);

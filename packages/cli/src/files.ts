// File input and output for the commands, from the libraries: inputs checked to be regular files
// before they are read and exit logs read line by line (@beem-ts/runtime), outputs written whole
// (@beem-ts/jobs).
export {
  checkNotSpecial,
  checkRegularFile,
  kindOf,
  readExitLog,
  readPolicy,
  statIfExists,
  stripBom,
  symlinkLoop,
} from "@beem-ts/runtime";
export { cannotWrite, openOutput, writeFileAtomic, type OutputFile } from "@beem-ts/jobs";

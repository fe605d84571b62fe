export { writeAll } from './write-all.mjs';

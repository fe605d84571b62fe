/**
 * The few lines every stand-in service runs after installing its SIGTERM handler. Only active when
 * the sandbox starts the process (the variables are set by it), so the base CLI stays an ordinary CLI.
 */

/** Environment variable: directory where a started process writes `<pid>.ready`. */
export const READY_DIR_ENV = 'SANDBOX_READY_DIR';
/** Environment variable: pid of the process that built the sandbox. */
export const OWNER_PID_ENV = 'SANDBOX_OWNER_PID';

/**
 * CommonJS source. Readiness: a file outside the project, written once the handler is in place. Owner
 * watch: the stand-in exits when the process that built the sandbox is gone, because a test runner
 * killed by a signal never runs `cleanup()`, and detached processes would otherwise pile up.
 */
export const STAND_IN_HOOKS = `// Sandbox hooks: report readiness, and leave when the sandbox's owner is gone.
if (process.env.${READY_DIR_ENV}) {
  require('node:fs').writeFileSync(require('node:path').join(process.env.${READY_DIR_ENV}, process.pid + '.ready'), '');
}
const sandboxOwner = Number(process.env.${OWNER_PID_ENV});
if (sandboxOwner > 0) {
  setInterval(() => {
    try {
      process.kill(sandboxOwner, 0);
    } catch (err) {
      if (err.code === 'ESRCH') process.exit(0);
    }
  }, 500);
}
`;

/** `text` with every line indented by `pad` (blank lines stay empty). */
export function indent(text: string, pad: string): string {
  return text
    .split('\n')
    .map((l) => (l === '' ? l : pad + l))
    .join('\n');
}

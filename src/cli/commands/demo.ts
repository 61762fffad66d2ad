// netlet demo: runs src/demo/main.ts (runDemo) when this build has it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { showHelp, type Command } from '../args.js';
import { CliError, EXIT } from '../exit.js';

const usage = `usage: netlet demo [ARGS...]

Runs the netlet demo (see README). Arguments go to the demo; \`netlet demo --help\`
shows its own help when the demo is built in.`;

export const demo: Command = {
  name: 'demo',
  summary: 'run the demo',
  usage,
  async run(argv, io) {
    const url = new URL('../../demo/main.js', import.meta.url);
    const missing = !existsSync(fileURLToPath(url));
    if (missing && (argv.includes('--help') || argv.includes('-h'))) return showHelp(io, usage);
    if (missing) {
      throw new CliError(`netlet: the demo is not part of this build (${fileURLToPath(url)} is missing); build it with \`npx tsc -p tsconfig.json\` from a tree that has src/demo/main.ts`, EXIT.ERROR);
    }
    const mod = (await import(url.href)) as { runDemo?: (argv: string[]) => Promise<number | void> };
    if (typeof mod.runDemo !== 'function') throw new CliError(`netlet: ${fileURLToPath(url)} exports no runDemo(argv)`, EXIT.ERROR);
    const code = await mod.runDemo(argv);
    return typeof code === 'number' ? code : 0;
  },
};

// netlet graph MACHINE: a state diagram generated from the machine's definition.
import { choice, parse, showHelp, type Command } from '../args.js';
import { CliError, EXIT } from '../exit.js';

/** The names src/debug/graph.ts knows (a unit test keeps the two equal). */
export const MACHINE_NAMES = ['veth', 'sriov', 'pod'];

const usage = `usage: netlet graph MACHINE [--format mermaid|dot]

Prints the state diagram of one of netlet's machines, generated from its XState
definition (no daemon needed). MACHINE is one of: ${MACHINE_NAMES.join(', ')}.

  --format mermaid   Mermaid stateDiagram-v2 (default)
  --format dot       Graphviz DOT (render with: dot -Tsvg)`;

export const graph: Command = {
  name: 'graph',
  summary: 'state diagram of a machine (mermaid or dot)',
  usage,
  async run(argv, io) {
    const a = parse(argv, { format: { type: 'string', short: 'f' } }, usage, { min: 1, max: 1 });
    if (a.help) return showHelp(io, usage);
    const format = choice(a.values.format, ['mermaid', 'dot'], 'mermaid', '--format', usage);
    const { renderMachine, machineNames } = await import('../../debug/graph.js');
    const m = renderMachine(a.positionals[0]!);
    if (!m) throw new CliError(`netlet: no machine '${a.positionals[0]}' (known: ${machineNames().join(', ')})`, EXIT.NOT_FOUND);
    io.out.write(format === 'dot' ? m.dot : m.mermaid);
    return 0;
  },
};

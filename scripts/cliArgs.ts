import { type ParseArgsConfig, parseArgs } from 'node:util';

/**
 * The audit scripts' command line: their options plus `--help`. A bad flag prints the error and
 * the usage (exit 2), `--help` the usage (exit 0); otherwise the parsed values.
 */
export function parseCli<O extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: O,
  usage: string,
): { values: ReturnType<typeof parseArgs<{ options: O; strict: true }>>['values'] } | { exit: 0 | 2 } {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }).values;
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${usage}`);
    return { exit: 2 };
  }
  if (values.help) {
    console.log(usage);
    return { exit: 0 };
  }
  return { values: values as never };
}

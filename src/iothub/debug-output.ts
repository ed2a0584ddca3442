// The AMQP library under the Azure SDK (rhea) prints whole frames, SAS tokens included,
// when the `debug` output of its message, raw or frames namespaces is switched on, as
// DEBUG=* or DEBUG=rhea* do. Nothing of ours prints a token; this tells the operator
// that their debug setting does.

const TOKEN_PRINTING = ['rhea:message', 'rhea:raw', 'rhea:frames'];

/**
 * The namespaces that print tokens which `debug` (the `debug` package's DEBUG variable)
 * switches on: comma- or space-separated names, `*` for any text, `-name` to leave one
 * out, which wins over any inclusion.
 */
export function tokenPrintingDebug(debug: string | undefined = process.env['DEBUG']): string[] {
  const patterns = (debug ?? '').split(/[\s,]+/).filter((p) => p !== '');
  const skips = patterns.filter((p) => p.startsWith('-')).map((p) => glob(p.slice(1)));
  const includes = patterns.filter((p) => !p.startsWith('-')).map(glob);
  return TOKEN_PRINTING.filter((name) =>
    !skips.some((skip) => skip.test(name)) && includes.some((include) => include.test(name)));
}

function glob(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*?');
  return new RegExp(`^${escaped}$`);
}

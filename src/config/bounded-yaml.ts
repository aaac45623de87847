/**
 * YAML parsing with hostile input bounded before it costs more than a config is worth. The `yaml` package's CST
 * parser keeps its own stack, but its composer and `toJS` recurse once per level of nesting, so a deep document
 * ends in "Maximum call stack size exceeded" at a depth that depends on the caller's stack. Nesting is therefore
 * watched while the CST parser runs and a document deeper than the limit is refused there, at the line where it
 * passes the limit, before the composer sees it. Aliases can make a small document large or deep after
 * composition (billion laughs, chains of anchors), so the expanded values are bounded too.
 */
import { Composer, Lexer, Parser } from 'yaml';
import type { CST, Document, DocumentOptions, LineCounter, ParseOptions } from 'yaml';

/** Real manifests rarely exceed ~15 levels; a document far deeper is an attack on the parser, not config. */
export const MAX_NESTING_DEPTH = 64;
/** What one file may expand to once aliases are resolved; a 4 MiB file of real config holds far fewer values. */
export const MAX_EXPANDED_VALUES = 1_000_000;

export type ParsedYaml =
  | { ok: true; docs: Document.Parsed[] }
  /** Refused before composing: nesting passed MAX_NESTING_DEPTH at this offset of the text. */
  | { ok: false; offset: number };

function isCollection(token: CST.Token): boolean {
  return token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection';
}

/**
 * Where the stack's collections first pass the limit, if they do. The stack also holds the document and the
 * token being read, so collections are counted only when it is long enough to hold too many.
 */
function tooDeepAt(stack: readonly CST.Token[]): number | undefined {
  if (stack.length <= MAX_NESTING_DEPTH) return undefined;
  let n = 0;
  for (const token of stack) if (isCollection(token) && ++n > MAX_NESTING_DEPTH) return token.offset;
  return undefined;
}

/** Parses every document of `text`, refusing nesting deeper than MAX_NESTING_DEPTH before composing any. */
export function parseBoundedYaml(text: string, lines: LineCounter, options: ParseOptions & DocumentOptions): ParsedYaml {
  const parser = new Parser(lines.addNewLine);
  const tokens: CST.Token[] = [];
  lines.addNewLine(0);
  for (const lexeme of new Lexer().lex(text)) {
    for (const token of parser.next(lexeme)) tokens.push(token);
    const offset = tooDeepAt(parser.stack);
    if (offset !== undefined) return { ok: false, offset };
  }
  for (const token of parser.end()) tokens.push(token);
  return { ok: true, docs: Array.from(new Composer(options).compose(tokens)) };
}

/** Counts the values of expanded documents against one file's budget. */
export class ExpansionBudget {
  #left = MAX_EXPANDED_VALUES;

  /**
   * Walks `value` (without recursion: aliases can make it deep) and takes its values from the budget. Returns what
   * it exceeds, if anything: 'depth' (nesting after expansion) or 'size' (the file's budget).
   */
  take(value: unknown): 'depth' | 'size' | undefined {
    const stack: [unknown, number][] = [[value, 0]];
    while (stack.length > 0) {
      const [node, depth] = stack.pop() as [unknown, number];
      if (--this.#left < 0) return 'size';
      if (node === null || typeof node !== 'object') continue;
      if (depth + 1 > MAX_NESTING_DEPTH) return 'depth';
      for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push([child, depth + 1]);
    }
    return undefined;
  }
}

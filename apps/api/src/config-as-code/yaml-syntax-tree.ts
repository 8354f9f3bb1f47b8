import { CST, Lexer, type LineCounter, Parser } from 'yaml';

/**
 * The syntax tree of a YAML text, or undefined when it nests collections deeper than `limit`:
 * `Parser.parse()` as the `yaml` package documents it (its lexer, then `next()` per lexeme and
 * `end()`), looking at the parser's open tokens after each lexeme. The parser keeps them on a
 * stack (no recursion), and a collection is open while any collection inside it is, so a text
 * nested some hundreds of thousands of levels is turned away within the first hundred levels,
 * in microseconds, instead of the seconds the parser would spend on all of it. Composing
 * documents from the tree recurses once per level, so it must only ever see trees within the
 * limit; {@link syntaxTreeExceeds} checks the finished tree again.
 */
export function parseSyntaxTree(
  text: string,
  lineCounter: LineCounter,
  limit: number,
): CST.Token[] | undefined {
  const parser = new Parser(lineCounter.addNewLine);
  lineCounter.addNewLine(0);
  const tokens: CST.Token[] = [];
  for (const lexeme of new Lexer().lex(text)) {
    for (const token of parser.next(lexeme)) tokens.push(token);
    if (parser.stack.length > limit && parser.stack.filter(CST.isCollection).length > limit) {
      return undefined;
    }
  }
  for (const token of parser.end()) tokens.push(token);
  return syntaxTreeExceeds(tokens, limit) ? undefined : tokens;
}

/** Whether a syntax tree nests collections deeper than `limit`, measured without recursion. */
export function syntaxTreeExceeds(tokens: readonly CST.Token[], limit: number): boolean {
  const pending: [CST.Token, number][] = tokens.map((token) => [token, 0]);
  while (pending.length > 0) {
    const [token, depth] = pending.pop() as [CST.Token, number];
    if (token.type === 'document' && token.value) pending.push([token.value, depth]);
    if (!CST.isCollection(token)) continue;
    if (depth + 1 > limit) return true;
    for (const item of token.items) {
      if (item.key) pending.push([item.key, depth + 1]);
      if (item.value) pending.push([item.value, depth + 1]);
    }
  }
  return false;
}

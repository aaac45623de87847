/**
 * From a field path back to the YAML text: finds the node a path names so an error can say file:line:column.
 * When the path runs past what is written (a missing field), the nearest written parent is named instead.
 */
import { isMap, isScalar, isSeq } from 'yaml';
import type { Document, LineCounter, Node } from 'yaml';
import type { FieldPath } from './issues.js';

export interface LinePosition {
  line: number;
  column: number;
}

function positionOf(node: { range?: readonly number[] | null | undefined } | null | undefined, lines: LineCounter): LinePosition | undefined {
  const offset = node?.range?.[0];
  if (offset === undefined) return undefined;
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}

/** Where a document starts: its first content node, else the document itself. */
export function documentPosition(doc: Document, lines: LineCounter): LinePosition {
  return positionOf(doc.contents, lines) ?? positionOf(doc, lines) ?? { line: 1, column: 1 };
}

/**
 * Locates `path` in `doc`. A scalar is named at its value; a map or list under a key is named at the key
 * (the line a person looks for); `atKey` names the key even for a scalar (an unknown or misspelled field).
 */
export function locateField(doc: Document, lines: LineCounter, path: FieldPath, atKey: boolean): LinePosition {
  let node: unknown = doc.contents;
  let keyNode: Node | undefined;
  let fellShort = false;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (pair === undefined) {
        fellShort = true;
        break;
      }
      keyNode = pair.key as Node;
      node = pair.value;
      if (node === null || node === undefined) {
        // `key:` with nothing after it: the key is all there is to point at.
        node = undefined;
        fellShort = true;
        break;
      }
    } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
      keyNode = undefined;
      node = node.items[seg];
    } else {
      fellShort = true;
      break;
    }
  }
  const target = node as Node | undefined;
  const preferKey = atKey || fellShort || (target !== undefined && !isScalar(target));
  return (
    (preferKey ? positionOf(keyNode, lines) : undefined) ??
    positionOf(target, lines) ??
    positionOf(keyNode, lines) ??
    documentPosition(doc, lines)
  );
}

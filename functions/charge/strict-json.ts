import { type AnyNode, type MemberNode, parse } from '@humanwhocodes/momoa';

/** Text that is JSON but not one unambiguous value: `detail` says which rule it breaks. */
export class AmbiguousJsonError extends Error {}

/** A body parsed strictly: its value, and the text each top-level member was written as. */
export interface StrictJson {
  value: unknown;
  /** The source text of a top-level member's value, as the client wrote it (e.g. `1.0`). */
  literalOf(member: string): string | undefined;
}

/**
 * Parses `text` as JSON (RFC 8259) that every reader reads the same way: an object with a
 * duplicate member name is refused, since one parser keeps the first and another the last
 * (so a proxy could see one amount and the service charge another). The source literals of
 * the top-level members stay available, so a caller can insist that a number was written as
 * an integer rather than rounded into one.
 *
 * JSON.parse keeps the last duplicate and discards the literal, so the syntax tree comes from
 * momoa (a maintained JSON AST parser); the value itself from JSON.parse, once the text is
 * known to be unambiguous, so `__proto__` and friends stay plain own properties.
 */
export function parseStrictJson(text: string): StrictJson {
  let document: ReturnType<typeof parse>;
  try {
    document = parse(text, { mode: 'json', ranges: true });
  } catch (error) {
    throw new SyntaxError((error as Error).message);
  }
  rejectDuplicateMembers(document.body);
  const value: unknown = JSON.parse(text);
  const body = document.body;
  return {
    value,
    literalOf: (member) => {
      if (body.type !== 'Object') return undefined;
      const found = body.members.find((candidate) => memberName(candidate) === member);
      const range = found?.value.range;
      return range ? text.slice(range[0], range[1]) : undefined;
    },
  };
}

/** Iterative, so a body nested thousands of levels deep cannot overflow the stack. */
function rejectDuplicateMembers(root: AnyNode): void {
  const pending: AnyNode[] = [root];
  for (let node = pending.pop(); node; node = pending.pop()) {
    if (node.type === 'Array') {
      for (const element of node.elements) pending.push(element.value);
    } else if (node.type === 'Object') {
      const names = new Set<string>();
      for (const member of node.members) {
        const name = memberName(member);
        if (names.has(name)) throw new AmbiguousJsonError(`duplicate member "${name}"`);
        names.add(name);
        pending.push(member.value);
      }
    }
  }
}

function memberName(member: MemberNode): string {
  return member.name.type === 'String' ? member.name.value : member.name.name;
}

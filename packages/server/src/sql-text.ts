import type { Queryable } from '@charter/db';

/**
 * SQL composed as plain text and parameters, for statements assembled from pieces at run time (a
 * list's conditions, sort and cursor). postgres.js can nest its own tagged fragments, but each of
 * them is a pending query object that it walks again on every request; on the list route that
 * cost as much CPU as the rest of the handler. A piece here is two arrays, rendered once into
 * `$n` placeholders and sent as a prepared statement: the same shape of list is the same
 * statement text, so PostgreSQL plans it once per connection.
 *
 * Values are never spliced into the text: every `${value}` becomes a parameter (typed as
 * postgres.js types a tagged template's values), except a `SqlText` piece, which is inlined, and
 * an `ident`, which is quoted.
 */
export class SqlText {
  constructor(
    readonly strings: readonly string[],
    readonly values: readonly unknown[],
  ) {}
}

/** A piece of SQL: `q\`status = ${status}\``. */
export function q(strings: TemplateStringsArray, ...values: unknown[]): SqlText {
  return new SqlText(strings, values);
}

/** An identifier (a table or column name), double-quoted; names come from the code, never from input. */
export function ident(name: string): SqlText {
  return new SqlText([`"${name.replaceAll('"', '""')}"`], []);
}

/** Pieces joined by a separator written as SQL text (`', '`, `' and '`). */
export function join(pieces: readonly SqlText[], separator: string): SqlText {
  if (pieces.length === 0) return EMPTY;
  const strings: string[] = [''];
  const values: unknown[] = [];
  pieces.forEach((piece, index) => {
    strings[strings.length - 1] += index === 0 ? '' : separator;
    values.push(piece);
    strings.push('');
  });
  return new SqlText(strings, values);
}

/** Conditions ANDed, or `true` when there are none. */
export function and(conditions: readonly SqlText[]): SqlText {
  return conditions.length === 0 ? TRUE : join(conditions, ' and ');
}

const EMPTY = new SqlText([''], []);
const TRUE = new SqlText(['true'], []);

/** The statement text with `$1…$n`, and its parameters in order. */
export function render(piece: SqlText): { text: string; parameters: unknown[] } {
  const parameters: unknown[] = [];
  const write = (current: SqlText): string => {
    let text = current.strings[0] as string;
    for (let index = 0; index < current.values.length; index++) {
      const value = current.values[index];
      if (value instanceof SqlText) {
        text += write(value);
      } else {
        parameters.push(value);
        text += `$${parameters.length}`;
      }
      text += current.strings[index + 1] as string;
    }
    return text;
  };
  return { text: write(piece), parameters };
}

/** Runs a composed statement as a prepared statement. */
export function run<Row extends object>(sql: Queryable, piece: SqlText): Promise<Row[]> {
  const { text, parameters } = render(piece);
  return sql.unsafe(text, parameters as never[], { prepare: true }) as unknown as Promise<Row[]>;
}

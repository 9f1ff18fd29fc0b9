/**
 * PostgreSQL cannot store U+0000 in text or jsonb: free-text inputs refuse it up front (422), and
 * the document says so with this pattern.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is exactly what this refuses.
export const NO_NUL = /^[^\u0000]*$/;
export const NO_NUL_MESSAGE = 'Must not contain the NUL character (U+0000).';

/**
 * A name: trimmed, so it needs one character other than white space, and no NUL. One pattern
 * rather than two, so that the document shows one `pattern` a generator can honour.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is exactly what this refuses.
export const NAME_TEXT = /^[^\u0000]*[^\s\u0000][^\u0000]*$/;
export const NAME_TEXT_MESSAGE = 'Must contain a character other than white space, and no NUL character (U+0000).';

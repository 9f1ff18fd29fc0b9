/** Database rows → wire objects: Date → ISO 8601 UTC, the workspace column dropped. */
export function iso(value: unknown): string {
  return value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString();
}

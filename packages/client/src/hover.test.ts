import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * What an editor shows on hover, asked of TypeScript itself over a sample call: the data and the
 * error of a call are named after their schemas (`Module`), not expanded into their properties.
 */
const SAMPLE = `import { Charter } from './index.ts';
const charter = new Charter({ baseUrl: 'http://127.0.0.1:3000/api/v1', apiKey: 'sk_test_x', throwOnError: true });
const results = new Charter({ baseUrl: 'http://127.0.0.1:3000/api/v1', apiKey: 'sk_test_x' });
export async function sample() {
  const { data: created } = await charter.POST('/modules', { body: { name: 'Contacts' } });
  const { data: record } = await charter.GET('/modules/{module_id}/records/{record_id}', { params: { path: { module_id: created.id, record_id: 'rec_x' } } });
  const { error: failure } = await results.GET('/modules/{module_id}', { params: { path: { module_id: created.id } } });
  return { created, record, failure };
}
`;

function typesOf(names: string[]): Record<string, string> {
  const file = fileURLToPath(new URL('./hover-sample.ts', import.meta.url));
  const options: ts.CompilerOptions = {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    noEmit: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language) => (name === file ? ts.createSourceFile(name, SAMPLE, language) : getSourceFile(name, language));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram({ rootNames: [file], options, host });
  const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  if (problems.length > 0) throw new Error(problems.join('\n'));
  const checker = program.getTypeChecker();
  const found: Record<string, string> = {};
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && names.includes(node.text) && ts.isBindingElement(node.parent)) {
      found[node.text] = checker.typeToString(checker.getTypeAtLocation(node));
    }
    ts.forEachChild(node, visit);
  };
  visit(program.getSourceFile(file) as ts.SourceFile);
  return found;
}

describe('hovers', () => {
  it('name the schema of a call\u2019s data and error instead of expanding it', () => {
    expect(typesOf(['created', 'record', 'failure'])).toEqual({ created: 'Module', record: 'Record', failure: 'ErrorResponse | undefined' });
  }, 60_000);
});

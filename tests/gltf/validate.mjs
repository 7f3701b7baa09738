// Validates glTF/GLB files with the Khronos glTF validator and prints one JSON report per file:
// {"path", "errors", "warnings", "infos", "messages"}. Side files of .gltf are read from beside it.
import { readFile } from "node:fs/promises";
import path from "node:path";
import validator from "gltf-validator";

for (const file of process.argv.slice(2)) {
  const bytes = new Uint8Array(await readFile(file));
  const report = await validator.validateBytes(bytes, {
    uri: path.basename(file),
    maxIssues: 100,
    externalResourceFunction: async (uri) =>
      new Uint8Array(await readFile(path.join(path.dirname(file), decodeURIComponent(uri)))),
  });
  const issues = report.issues;
  console.log(
    JSON.stringify({
      path: file,
      errors: issues.numErrors,
      warnings: issues.numWarnings,
      infos: issues.numInfos,
      messages: issues.messages.map((m) => `${m.code} ${m.pointer ?? ""}: ${m.message}`),
    }),
  );
}

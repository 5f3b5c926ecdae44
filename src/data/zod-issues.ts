// One wording for schema errors in every file the workbench reads: `<file>: field <path>: <message>`.
import type { z } from 'zod';

export function issueLines(error: z.ZodError, file: string): string[] {
  return error.issues.map((i) => `${file}: field ${i.path.join('.') || '(root)'}: ${i.message}`);
}

// The codegen.* settings as the server wants them: only the keys it knows, unset ones left out
// (so the server's TOML files and environment still apply), plus a key from SecretStorage.
import type * as vscode from "vscode";

/** Settings passed through to the server, by their names in both places. */
export const SERVER_KEYS = [
  "provider",
  "baseUrl",
  "model",
  "apiKeyEnv",
  "providers",
  "fallback",
  "actions",
  "streamEdits",
  "inline",
] as const;

/** Keys that are tables of separate settings (codegen.inline.*: the server's inline completion
 * settings and the ghost-text toggle): each level adds its own keys, rather than the most
 * specific level's table replacing the others. */
const MERGED_TABLES: ReadonlySet<string> = new Set(["inline"]);

function merged(levels: unknown[]): unknown {
  const tables = levels.filter((level) => typeof level === "object" && level !== null && !Array.isArray(level));
  return tables.length ? Object.assign({}, ...tables) as unknown : undefined;
}

export const SECRET_KEY = "codegen.apiKey";

function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined || value === "") {
    return true;
  }
  if (Array.isArray(value)) {
    return value.length === 0;
  }
  if (typeof value === "object") {
    return Object.keys(value).length === 0;
  }
  return false;
}

/** The server's "codegen" configuration object built from the user's settings. */
export function serverOptions(config: vscode.WorkspaceConfiguration, apiKey: string | undefined): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const key of SERVER_KEYS) {
    const inspected = config.inspect(key);
    // Only what the user set: a default here must not override the server's own files.
    const set = MERGED_TABLES.has(key)
      ? merged([inspected?.globalValue, inspected?.workspaceValue, inspected?.workspaceFolderValue])
      : (inspected?.workspaceFolderValue ?? inspected?.workspaceValue ?? inspected?.globalValue ?? undefined);
    if (!isEmpty(set)) {
      options[key] = set;
    }
  }
  if (apiKey) {
    options.apiKey = apiKey;
  }
  return options;
}

export interface ServerCommand {
  command: string;
  args: string[];
}

export function serverCommand(config: vscode.WorkspaceConfiguration): ServerCommand {
  const command = config.get<string>("server.path")?.trim() || "codegen-lsp";
  const args = config.get<string[]>("server.args") ?? ["serve"];
  return { command, args };
}

// Find the server executable before starting it, so a missing install gets a clear message
// instead of the language client's generic "couldn't start" error.
import * as fs from "fs";
import * as path from "path";

function isExecutableFile(file: string): boolean {
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) {
      return false;
    }
    if (process.platform === "win32") {
      return true;
    }
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The full path of `command` (absolute, relative to `cwd`, or searched on PATH), or undefined. */
export function findExecutable(command: string, cwd?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const extensions =
    process.platform === "win32" ? ["", ...(env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";").map((e) => e.toLowerCase())] : [""];
  const candidates: string[] = [];
  if (path.isAbsolute(command)) {
    candidates.push(command);
  } else if (command.includes("/") || command.includes(path.sep)) {
    candidates.push(path.resolve(cwd ?? process.cwd(), command));
  } else {
    for (const dir of (env.PATH ?? "").split(path.delimiter)) {
      if (dir) {
        candidates.push(path.join(dir, command));
      }
    }
  }
  for (const candidate of candidates) {
    for (const extension of extensions) {
      if (isExecutableFile(candidate + extension)) {
        return candidate + extension;
      }
    }
  }
  return undefined;
}

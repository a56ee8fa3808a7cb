// VS Code client for codegen-lsp.  The server does the work (code actions, streaming, edits);
// this extension starts it, maps codegen.* settings onto its configuration, hands it an API key
// from SecretStorage, and adds palette commands, an instruction box, a status-bar item for jobs
// and a ghost-text toggle (inline completion itself is the language client's own feature).
import * as vscode from "vscode";
import {
  LanguageClient,
  type LanguageClientOptions,
  ResponseError,
  type ServerOptions,
  State,
  TransportKind,
} from "vscode-languageclient/node";
import { findExecutable } from "./executable";
import { InlineToggle, TOGGLE_COMMAND, inlineMiddleware } from "./inline";
import { SECRET_KEY, serverCommand, serverOptions } from "./settings";

const SECTION = "codegen";
// Commands the server implements; the language client registers them in VS Code under these ids.
const GENERATE = "codegen.generate";
const CANCEL = "codegen.cancel";
const CHECK = "codegen.checkProvider";
const TRUST = "codegen.trustProjectConfig";
const INSTALL_HINT = 'Install it with "pipx install /path/to/codegen-lsp" (a checkout; or pip), or set "codegen.server.path" to its full path.';

interface GenerateArgument {
  uri: string;
  version?: number | null;
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
  action: string;
  instruction?: string;
  [key: string]: unknown;
}

interface GenerateOutcome {
  jobId?: string | null;
  status?: string;
  message?: string;
  text?: string;
}

interface Job {
  title: string;
  message?: string;
  percentage?: number;
}

class CodegenClient implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private readonly jobs = new Map<string, Job>();
  private readonly status: vscode.StatusBarItem;
  private readonly output: vscode.LogOutputChannel;
  readonly inline = new InlineToggle(SECTION);
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly context: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel("Codegen", { log: true });
    this.status = vscode.window.createStatusBarItem("codegen.jobs", vscode.StatusBarAlignment.Left, 10);
    this.status.name = "Codegen";
    this.status.command = "codegen.cancelJobs";
    this.disposables.push(this.output, this.status, this.inline);
  }

  dispose(): void {
    void this.stop();
    for (const disposable of this.disposables) {
      disposable.dispose();
    }
  }

  private async apiKey(): Promise<string | undefined> {
    return (await this.context.secrets.get(SECRET_KEY)) || undefined;
  }

  private async options(): Promise<Record<string, unknown>> {
    return serverOptions(vscode.workspace.getConfiguration(SECTION), await this.apiKey());
  }

  async start(): Promise<void> {
    const config = vscode.workspace.getConfiguration(SECTION);
    const { command, args } = serverCommand(config);
    const cwd = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const executable = findExecutable(command, cwd);
    if (!executable) {
      this.output.error(`server executable '${command}' not found on PATH (${process.env.PATH ?? ""})`);
      const choice = await vscode.window.showErrorMessage(
        `Codegen: the language server '${command}' was not found. ${INSTALL_HINT}`,
        "Open Settings",
        "Retry",
      );
      if (choice === "Open Settings") {
        await vscode.commands.executeCommand("workbench.action.openSettings", "codegen.server.path");
      } else if (choice === "Retry") {
        await this.start();
      }
      return;
    }

    const server: ServerOptions = {
      command: executable,
      args,
      transport: TransportKind.stdio,
      options: { cwd, env: process.env },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
      outputChannel: this.output,
      initializationOptions: await this.options(),
      middleware: {
        ...inlineMiddleware(SECTION),
        workspace: {
          // Answer the server's "codegen" section with the mapped settings (and the secret key),
          // not VS Code's raw section, which also holds client-only keys like server.path.
          configuration: async (params, token, next) => {
            const answers: unknown[] | ResponseError = (await next(params, token)) as unknown[] | ResponseError;
            if (answers instanceof ResponseError) {
              return answers;
            }
            const mapped = await this.options();
            return params.items.map((item, index): unknown => (item.section === SECTION ? mapped : answers[index]));
          },
        },
        // "Rewrite selection…" from the light bulb needs an instruction: ask for it first.
        provideCodeActions: async (document, range, context, token, next) => {
          const actions = await next(document, range, context, token);
          for (const action of actions ?? []) {
            const command = action instanceof vscode.CodeAction ? action.command : action;
            const argument = command?.arguments?.[0] as GenerateArgument | undefined;
            if (command?.command === GENERATE && argument?.action === "rewrite" && !argument.instruction) {
              command.command = "codegen.rewriteWithInstruction";
            }
          }
          return actions;
        },
        handleWorkDoneProgress: (token, params, next) => {
          this.onProgress(String(token), params);
          next(token, params);
        },
      },
    };

    this.client = new LanguageClient("codegen", "Codegen", server, clientOptions);
    this.client.onDidChangeState((event) => {
      if (event.newState === State.Stopped) {
        this.jobs.clear();
        this.render();
        this.inline.setAvailable(false);
      }
    });
    try {
      await this.client.start();
      this.inline.setAvailable(Boolean(this.client.initializeResult?.capabilities.inlineCompletionProvider));
    } catch (error) {
      this.output.error(`the server failed to start: ${String(error)}`);
      void vscode.window.showErrorMessage(`Codegen: the language server failed to start (${String(error)}). See "Codegen: Show server log".`);
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.jobs.clear();
    this.render();
    if (client && client.state !== State.Stopped) {
      await client.stop();
    }
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  showLog(): void {
    this.output.show(true);
  }

  /** Push changed settings (or a changed key) to the running server. */
  async pushConfiguration(): Promise<void> {
    if (this.client?.state === State.Running) {
      await this.client.sendNotification("workspace/didChangeConfiguration", {
        settings: { [SECTION]: await this.options() },
      });
    }
  }

  private onProgress(token: string, value: { kind: string; title?: string; message?: string; percentage?: number }): void {
    if (value.kind === "begin") {
      this.jobs.set(token, { title: value.title ?? "Codegen", message: value.message, percentage: value.percentage });
    } else if (value.kind === "report") {
      const job = this.jobs.get(token);
      if (job) {
        job.message = value.message ?? job.message;
        job.percentage = value.percentage ?? job.percentage;
      }
    } else if (value.kind === "end") {
      this.jobs.delete(token);
    }
    this.render();
  }

  private render(): void {
    void vscode.commands.executeCommand("setContext", "codegen.jobRunning", this.jobs.size > 0);
    if (this.jobs.size === 0) {
      this.status.hide();
      return;
    }
    const [job] = this.jobs.values();
    const label = this.jobs.size === 1 ? job.title : `Codegen: ${this.jobs.size} jobs`;
    this.status.text = `$(sync~spin) ${label}`;
    this.status.tooltip = `${job.message ?? "running"} — click to cancel`;
    this.status.show();
  }

  private ready(): LanguageClient | undefined {
    if (this.client?.state === State.Running) {
      return this.client;
    }
    void vscode.window.showErrorMessage(
      this.client ? "Codegen: the language server is not running yet." : `Codegen: the language server is not running. ${INSTALL_HINT}`,
    );
    return undefined;
  }

  /** Run a server action on the active editor's selection (or cursor). */
  async run(action: string, instruction?: string): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showWarningMessage("Codegen: open a file first.");
      return;
    }
    const client = this.ready();
    if (!client) {
      return;
    }
    const argument: GenerateArgument = {
      uri: editor.document.uri.toString(),
      version: editor.document.version,
      range: client.code2ProtocolConverter.asRange(editor.selection),
      action,
    };
    if (instruction) {
      argument.instruction = instruction;
    }
    await this.generate(argument);
  }

  async generate(argument: GenerateArgument): Promise<void> {
    const client = this.ready();
    if (!client) {
      return;
    }
    try {
      const outcome = await client.sendRequest<GenerateOutcome | null>("workspace/executeCommand", {
        command: GENERATE,
        arguments: [argument],
      });
      if (outcome?.status === "failed" && outcome.message) {
        this.output.warn(outcome.message);
      }
    } catch (error) {
      // the server already told the user (showMessage); keep the detail in the log
      this.output.error(`codegen.generate: ${String(error)}`);
    }
  }

  async rewrite(argument?: GenerateArgument): Promise<void> {
    const instruction = await vscode.window.showInputBox({
      title: "Codegen: Rewrite selection",
      prompt: "How should the selection be rewritten?",
      placeHolder: "e.g. use a loop instead of recursion",
      ignoreFocusOut: true,
    });
    if (!instruction?.trim()) {
      return;
    }
    if (argument) {
      await this.generate({ ...argument, instruction });
    } else {
      await this.run("rewrite", instruction);
    }
  }

  async cancel(): Promise<void> {
    const client = this.ready();
    if (!client) {
      return;
    }
    await client.sendRequest("workspace/executeCommand", { command: CANCEL, arguments: [{ all: true }] });
  }

  async checkProvider(): Promise<void> {
    const client = this.ready();
    if (!client) {
      return;
    }
    const answer = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: "Codegen: checking the provider…" },
      () => client.sendRequest("workspace/executeCommand", { command: CHECK, arguments: [] }),
    );
    const result = answer as { ok?: boolean; message?: string } | string | null;
    const message = typeof result === "string" ? result : (result?.message ?? JSON.stringify(result));
    if (typeof result === "object" && result?.ok === false) {
      void vscode.window.showErrorMessage(`Codegen: ${message}`);
    } else {
      void vscode.window.showInformationMessage(`Codegen: ${message}`);
    }
  }

  // Trusts (or forgets) the workspace's .codegen-lsp.toml as it is now; the server says what
  // happened in a message and applies the file's settings at once.
  async trustProject(revoke: boolean): Promise<void> {
    const client = this.ready();
    if (!client) {
      return;
    }
    await client.sendRequest("workspace/executeCommand", {
      command: TRUST,
      arguments: revoke ? [{ revoke: true }] : [],
    });
  }

  async setApiKey(): Promise<void> {
    const key = await vscode.window.showInputBox({
      title: "Codegen: Set API key",
      prompt: "Stored in VS Code's secret storage and handed to the server in memory; never written to settings.",
      password: true,
      ignoreFocusOut: true,
    });
    if (key === undefined) {
      return;
    }
    if (key.trim()) {
      await this.context.secrets.store(SECRET_KEY, key.trim());
      void vscode.window.showInformationMessage("Codegen: API key saved in secret storage.");
    } else {
      await this.context.secrets.delete(SECRET_KEY);
    }
  }

  async clearApiKey(): Promise<void> {
    await this.context.secrets.delete(SECRET_KEY);
    void vscode.window.showInformationMessage("Codegen: API key removed from secret storage.");
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const codegen = new CodegenClient(context);
  context.subscriptions.push(codegen);

  const command = (id: string, handler: (...args: never[]) => unknown): void => {
    context.subscriptions.push(vscode.commands.registerCommand(id, handler));
  };
  command("codegen.generateFromComment", () => codegen.run("generate_from_comment"));
  command("codegen.rewriteSelection", () => codegen.rewrite());
  command("codegen.rewriteWithInstruction", (argument: GenerateArgument) => codegen.rewrite(argument));
  command("codegen.implementSelection", () => codegen.run("implement"));
  command("codegen.documentSelection", () => codegen.run("document"));
  command("codegen.explainSelection", () => codegen.run("explain"));
  command("codegen.writeTests", () => codegen.run("tests"));
  command("codegen.cancelJobs", () => codegen.cancel());
  command("codegen.checkProviderStatus", () => codegen.checkProvider());
  command("codegen.trustProject", () => codegen.trustProject(false));
  command("codegen.revokeProjectTrust", () => codegen.trustProject(true));
  command("codegen.setApiKey", () => codegen.setApiKey());
  command("codegen.clearApiKey", () => codegen.clearApiKey());
  command("codegen.restartServer", () => codegen.restart());
  command("codegen.showLog", () => codegen.showLog());
  command(TOGGLE_COMMAND, () => codegen.inline.toggle());

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("codegen.inline.enabled")) {
        codegen.inline.render();
      }
      if (event.affectsConfiguration("codegen.server")) {
        await codegen.restart();
      } else if (event.affectsConfiguration(SECTION)) {
        await codegen.pushConfiguration();
      }
    }),
    context.secrets.onDidChange(async (event) => {
      if (event.key === SECRET_KEY) {
        await codegen.pushConfiguration();
      }
    }),
  );

  await codegen.start();
}

export function deactivate(): void {
  // the CodegenClient is disposed with context.subscriptions, which stops the server
}

// Ghost text: the server's textDocument/inlineCompletion reaches the editor through
// vscode-languageclient's own inline completion feature; this module only gates it behind the
// `codegen.inline.enabled` setting and shows that setting as a status-bar toggle (click to flip it,
// persisted in the user's settings).
import * as vscode from "vscode";
import { type Middleware } from "vscode-languageclient/node";

export const TOGGLE_COMMAND = "codegen.toggleInline";
const SETTING = "inline.enabled";

export function inlineEnabled(config: vscode.WorkspaceConfiguration): boolean {
  return config.get<boolean>(SETTING, true);
}

/** Middleware that asks the server only while ghost text is on. */
export function inlineMiddleware(section: string): Middleware {
  return {
    provideInlineCompletionItems: (document, position, context, token, next) => {
      if (!inlineEnabled(vscode.workspace.getConfiguration(section, document))) {
        return undefined;
      }
      return next(document, position, context, token);
    },
  };
}

/** The status-bar toggle, shown once a server that offers inline completion is running. */
export class InlineToggle implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private available = false;

  constructor(private readonly section: string) {
    this.item = vscode.window.createStatusBarItem("codegen.inline", vscode.StatusBarAlignment.Right, 100);
    this.item.name = "Codegen ghost text";
    this.item.command = TOGGLE_COMMAND;
  }

  dispose(): void {
    this.item.dispose();
  }

  /** Whether the running server offers inline completion (hides the item when not). */
  setAvailable(available: boolean): void {
    this.available = available;
    this.render();
  }

  render(): void {
    if (!this.available) {
      this.item.hide();
      return;
    }
    const on = inlineEnabled(vscode.workspace.getConfiguration(this.section));
    this.item.text = on ? "$(sparkle) Codegen" : "$(circle-slash) Codegen";
    this.item.tooltip = `Codegen ghost text is ${on ? "on" : "off"}: click to turn it ${on ? "off" : "on"}`;
    this.item.show();
  }

  /** Flip the setting where it takes effect (the workspace's settings when they set it, else the
   * user's), so it persists across sessions. */
  async toggle(): Promise<void> {
    const config = vscode.workspace.getConfiguration(this.section);
    const target =
      config.inspect<boolean>(SETTING)?.workspaceValue !== undefined
        ? vscode.ConfigurationTarget.Workspace
        : vscode.ConfigurationTarget.Global;
    await config.update(SETTING, !inlineEnabled(config), target);
    this.render();
  }
}

;;; codegen.el --- AI code generation through codegen-lsp, in eglot  -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "28.1") (eglot "1.9"))
;; Keywords: languages, tools

;;; Commentary:

;; codegen-lsp offers its work as code actions ("Codegen: Generate code from comment", "Codegen:
;; Rewrite selection…", ...), so plain `eglot-code-actions' already works once eglot starts the
;; server.  This file adds what plain LSP cannot: a prompt for rewrite instructions, one command
;; per action to bind keys to, cancel, and the provider check.
;;
;;   (require 'codegen)
;;   (codegen-eglot-setup '(python-mode python-ts-mode js-mode))   ; modes to start it in
;;   (add-hook 'python-mode-hook #'eglot-ensure)
;;
;; Eglot runs one server per buffer: for these modes codegen-lsp takes the place of another
;; language server.  To run it beside one, use lsp-mode and codegen-lsp-mode.el instead.

;;; Code:

(require 'cl-lib)
(require 'eglot)

(defgroup codegen nil
  "AI code generation through the codegen-lsp language server."
  :group 'tools
  :prefix "codegen-")

(defcustom codegen-server-command '("codegen-lsp" "serve")
  "Command that starts the codegen-lsp server."
  :type '(repeat string))

(defcustom codegen-settings nil
  "The server's \"codegen\" configuration as a plist with camelCase keys.
For example (:provider \"ollama\" :model \"qwen2.5-coder:7b\").  Sent as
initializationOptions; keep API keys out of it (use :apiKeyEnv, or
`codegen-api-key-function')."
  :type 'plist)

(defcustom codegen-api-key-function nil
  "Function of no arguments returning an API key for the server, or nil.
Called when the server starts; the key travels in memory only.  Example:
\(lambda () (auth-source-pick-first-password :host \"api.openai.com\"))."
  :type '(choice (const nil) function))

(defcustom codegen-completion-fallback nil
  "Non-nil: the server's suggestion (ghost text elsewhere) comes as a completion item.
Eglot shows no inline completions, so this is how Emacs gets them:
`completion-at-point' (\\[completion-at-point]) or company/corfu list
one \"codegen suggestion\" item whose text is the rest of the line or
block.  Sets the server's inline.completionFallback, which takes
effect when the server starts."
  :type 'boolean)

(defun codegen--initialization-options (&rest _)
  "The initializationOptions for the server, with the API key if configured."
  (let ((options (copy-sequence codegen-settings))
        (key (and codegen-api-key-function (funcall codegen-api-key-function))))
    (when (and key (not (string-empty-p key)))
      (setq options (plist-put options :apiKey key)))
    (when codegen-completion-fallback
      (setq options (plist-put options :inline
                               (plist-put (copy-sequence (plist-get options :inline))
                                          :completionFallback t))))
    (or options (make-hash-table))))

(defun codegen--server-contact (&rest _)
  "The eglot contact for codegen-lsp: command plus initializationOptions."
  (unless (executable-find (car codegen-server-command))
    (user-error "codegen: `%s' not found; install it (pipx install codegen-lsp) or set `codegen-server-command'"
                (car codegen-server-command)))
  (append codegen-server-command
          (list :initializationOptions (codegen--initialization-options))))

;;;###autoload
(defun codegen-eglot-setup (modes)
  "Make eglot start codegen-lsp in MODES (a list of major modes)."
  (add-to-list 'eglot-server-programs (cons modes #'codegen--server-contact))
  ;; The server edits the buffer on its own (workspace/applyEdit); asking first would
  ;; stop every generation at a y/n prompt.
  (setq eglot-confirm-server-initiated-edits nil))

(defun codegen--bounds ()
  "The region's bounds, or point."
  (if (use-region-p)
      (list (region-beginning) (region-end))
    (list (point) (point))))

(defun codegen--diagnostics (beg end)
  "Flymake's diagnostics on the lines from BEG to END, as LSP diagnostics.
codegen-lsp publishes none itself; its Fix actions work on other
checkers' diagnostics, which eglot would not send it (see the README:
`eglot-stay-out-of' flymake keeps them)."
  (let ((from (save-excursion (goto-char beg) (line-beginning-position)))
        (to (save-excursion (goto-char end) (line-end-position))))
    (vconcat
     (mapcar (lambda (diag)
               (list :range (list :start (eglot--pos-to-lsp-position (flymake-diagnostic-beg diag))
                                  :end (eglot--pos-to-lsp-position (flymake-diagnostic-end diag)))
                     :severity (pcase (flymake-diagnostic-type diag)
                                 ((or :error 'eglot-error) 1)
                                 ((or :warning 'eglot-warning) 2)
                                 (_ 3))
                     :message (flymake-diagnostic-text diag)))
             (and (bound-and-true-p flymake-mode) (flymake-diagnostics from to))))))

(defun codegen--actions (beg end)
  "The server's \"Codegen: ...\" code actions between BEG and END."
  (let ((actions (jsonrpc-request
                  (eglot--current-server-or-lose) :textDocument/codeAction
                  (list :textDocument (eglot--TextDocumentIdentifier)
                        :range (list :start (eglot--pos-to-lsp-position beg)
                                     :end (eglot--pos-to-lsp-position end))
                        :context (list :diagnostics (codegen--diagnostics beg end))))))
    (cl-remove-if-not
     (lambda (action) (string-prefix-p "Codegen:" (or (plist-get action :title) "")))
     (append actions nil))))

(defun codegen--command-of (action)
  "The (COMMAND . ARGUMENTS) of a code ACTION (a CodeAction or a bare Command)."
  (let ((command (plist-get action :command)))
    (if (stringp command)
        (cons command (plist-get action :arguments))
      (cons (plist-get command :command) (plist-get command :arguments)))))

(defun codegen--execute-async (server command arguments)
  "Send COMMAND with ARGUMENTS to SERVER without waiting.
A generation may take minutes; its result arrives as a workspace edit."
  (jsonrpc-async-request
   server :workspace/executeCommand
   (list :command command :arguments (or arguments []))
   :success-fn #'ignore
   :error-fn (lambda (error)
               ;; -32800: cancelled on purpose
               (unless (eql (plist-get error :code) -32800)
                 (message "codegen: %s" (or (plist-get error :message) error))))
   :timeout-fn #'ignore))

(defun codegen--execute (action &optional instruction)
  "Run code ACTION, adding INSTRUCTION to its `codegen.generate' argument."
  (let* ((server (eglot--current-server-or-lose))
         (edit (plist-get action :edit))
         (command (codegen--command-of action))
         (arguments (cdr command)))
    (when edit
      (eglot--apply-workspace-edit edit))
    (when (car command)
      (when (and instruction (> (length arguments) 0))
        (setq arguments (vconcat (list (plist-put (copy-sequence (aref arguments 0))
                                                  :instruction instruction))
                                 (cl-subseq arguments 1))))
      (codegen--execute-async server (car command) arguments))))

(defun codegen--run (title-prefix &optional instruction)
  "Run the first Codegen action whose title starts with TITLE-PREFIX here."
  (pcase-let* ((`(,beg ,end) (codegen--bounds))
               (action (cl-find-if
                        (lambda (a) (string-prefix-p title-prefix (plist-get a :title)))
                        (codegen--actions beg end))))
    (unless action
      (user-error "codegen: no \"%s\" action here" title-prefix))
    (codegen--execute action instruction)))

;;;###autoload
(defun codegen-actions ()
  "Pick among the Codegen code actions at point or in the region."
  (interactive)
  (pcase-let* ((`(,beg ,end) (codegen--bounds))
               (actions (or (codegen--actions beg end)
                            (user-error "codegen: no Codegen actions here")))
               (titles (mapcar (lambda (a) (cons (plist-get a :title) a)) actions))
               (choice (completing-read "Codegen: " titles nil t)))
    (codegen--execute (cdr (assoc choice titles)))))

;;;###autoload
(defun codegen-generate ()
  "Generate code from the comment at point."
  (interactive)
  (codegen--run "Codegen: Generate"))

;;;###autoload
(defun codegen-rewrite (instruction)
  "Rewrite the region following INSTRUCTION (asked for interactively)."
  (interactive (list (read-string "Rewrite instruction: ")))
  (when (string-empty-p (string-trim instruction))
    (user-error "codegen: an instruction is needed"))
  (codegen--run "Codegen: Rewrite" instruction))

;;;###autoload
(defun codegen-implement ()
  "Implement the selected stub."
  (interactive)
  (codegen--run "Codegen: Implement"))

;;;###autoload
(defun codegen-document ()
  "Add documentation to the region or the code at point."
  (interactive)
  (codegen--run "Codegen: Add documentation"))

;;;###autoload
(defun codegen-explain ()
  "Explain the region."
  (interactive)
  (codegen--run "Codegen: Explain"))

;;;###autoload
(defun codegen-tests ()
  "Write tests for the region."
  (interactive)
  (codegen--run "Codegen: Write tests"))

;;;###autoload
(defun codegen-fix ()
  "Fix the diagnostic at point."
  (interactive)
  (codegen--run "Codegen: Fix"))

;;;###autoload
(defun codegen-cancel (&optional all)
  "Cancel this buffer's Codegen jobs; with prefix argument ALL, every job."
  (interactive "P")
  (eglot-execute-command
   (eglot--current-server-or-lose) 'codegen.cancel
   (vector (if all
               (list :all t)
             (list :uri (plist-get (eglot--TextDocumentIdentifier) :uri))))))

;;;###autoload
(defun codegen-check-provider ()
  "Ask the server whether its provider answers."
  (interactive)
  (let ((result (jsonrpc-request (eglot--current-server-or-lose) :workspace/executeCommand
                                 (list :command "codegen.checkProvider" :arguments []))))
    (message "codegen: %s" (or (and (listp result) (plist-get result :message))
                               (format "%S" result)))))

;;;###autoload
(defun codegen-trust-project (&optional revoke)
  "Trust the workspace's .codegen-lsp.toml as it is now.
With prefix argument REVOKE, forget the trust instead.  Until it is
trusted, the server ignores the settings in it that choose where code
and API keys go, and says so once."
  (interactive "P")
  (let ((result (jsonrpc-request (eglot--current-server-or-lose) :workspace/executeCommand
                                 (list :command "codegen.trustProjectConfig"
                                       :arguments (if revoke (vector (list :revoke t)) [])))))
    (message "%s" (or (and (listp result) (plist-get result :message))
                      (format "codegen: %S" result)))))

(defvar codegen-command-map
  (let ((map (make-sparse-keymap)))
    (define-key map "g" #'codegen-generate)
    (define-key map "r" #'codegen-rewrite)
    (define-key map "i" #'codegen-implement)
    (define-key map "d" #'codegen-document)
    (define-key map "e" #'codegen-explain)
    (define-key map "t" #'codegen-tests)
    (define-key map "f" #'codegen-fix)
    (define-key map "a" #'codegen-actions)
    (define-key map "x" #'codegen-cancel)
    (define-key map "c" #'codegen-check-provider)
    (define-key map "T" #'codegen-trust-project)
    map)
  "Keymap of Codegen commands; bind it to a prefix key.
For example: (global-set-key (kbd \"C-c g\") \='codegen-command-map).")
(fset 'codegen-command-map codegen-command-map)

(provide 'codegen)
;;; codegen.el ends here

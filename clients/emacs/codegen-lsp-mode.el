;;; codegen-lsp-mode.el --- register codegen-lsp with lsp-mode, beside other servers  -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "27.1") (lsp-mode "8.0"))
;; Keywords: languages, tools

;;; Commentary:

;; lsp-mode runs several servers per buffer when all but one are add-ons, so codegen-lsp can run
;; next to pyright, rust-analyzer, ...  Its "Codegen: ..." actions then appear in
;; `lsp-execute-code-action' (s-l a a) with the other server's actions.
;;
;;   (require 'codegen-lsp-mode)
;;   (setq codegen-lsp-mode-settings '(:provider "ollama" :model "qwen2.5-coder:7b"))
;;   (add-hook 'python-mode-hook #'lsp-deferred)
;;
;; `codegen-lsp-mode-rewrite' asks for an instruction and runs "Codegen: Rewrite selection…"
;; with it.
;;
;; Suggestions while typing: lsp-mode 9.0.1 and newer show inline completions as ghost text
;; (`lsp-inline-completion-mode', turned on here where codegen-lsp serves a buffer, see
;; `codegen-lsp-mode-inline-completion'); older lsp-mode (Debian's 8.0.0) has none, and
;; `codegen-lsp-mode-completion-fallback' brings the suggestion as a completion item instead.

;;; Code:

(require 'cl-lib)
(require 'lsp-mode)

(defgroup codegen-lsp-mode nil
  "codegen-lsp in lsp-mode."
  :group 'lsp-mode
  :prefix "codegen-lsp-mode-")

(defcustom codegen-lsp-mode-server-command '("codegen-lsp" "serve")
  "Command that starts the codegen-lsp server."
  :type '(repeat string))

(defcustom codegen-lsp-mode-settings nil
  "The server's \"codegen\" configuration as a plist with camelCase keys.
Keep API keys out of it: use :apiKeyEnv or `codegen-lsp-mode-api-key-function'."
  :type 'plist)

(defcustom codegen-lsp-mode-api-key-function nil
  "Function of no arguments returning an API key (e.g. from auth-source), or nil."
  :type '(choice (const nil) function))

(defcustom codegen-lsp-mode-major-modes nil
  "Major modes to start codegen-lsp in; nil means every `prog-mode' buffer."
  :type '(repeat symbol))

(defcustom codegen-lsp-mode-inline-completion t
  "Non-nil: show the server's suggestions as ghost text where lsp-mode can.
lsp-mode 9.0.1 and newer have `lsp-inline-completion-mode'; it is turned
on in the buffers codegen-lsp serves (`lsp-inline-completion-idle-delay'
sets how soon it asks).  Older lsp-mode has none: see
`codegen-lsp-mode-completion-fallback'."
  :type 'boolean)

(defcustom codegen-lsp-mode-completion-fallback nil
  "Non-nil: the server's suggestion also comes as a completion item.
For lsp-mode without inline completion (before 9.0.1):
`completion-at-point', company or corfu list one \"codegen suggestion\"
item.  Sets the server's inline.completionFallback, which takes effect
when the server starts."
  :type 'boolean)

(defun codegen-lsp-mode-inline-completion-available-p ()
  "Whether this lsp-mode can show inline completions (lsp-mode 9.0.1+)."
  (and (require 'lsp-inline-completion nil t)
       (fboundp 'lsp-inline-completion-mode)))

(defun codegen-lsp-mode--initialization-options ()
  (let ((options (copy-sequence codegen-lsp-mode-settings))
        (key (and codegen-lsp-mode-api-key-function (funcall codegen-lsp-mode-api-key-function))))
    (when (and key (not (string-empty-p key)))
      (setq options (plist-put options :apiKey key)))
    (when codegen-lsp-mode-completion-fallback
      (setq options (plist-put options :inline
                               (plist-put (copy-sequence (plist-get options :inline))
                                          :completionFallback t))))
    (or options (make-hash-table))))

(defun codegen-lsp-mode--serves-buffer-p ()
  "Whether codegen-lsp is one of this buffer's servers."
  (cl-some (lambda (workspace)
             (eq (lsp--client-server-id (lsp--workspace-client workspace)) 'codegen-lsp))
           (lsp-workspaces)))

(defun codegen-lsp-mode--enable-inline-completion ()
  "Turn on lsp-mode's ghost text in a buffer codegen-lsp serves, where lsp-mode has it."
  (when (and codegen-lsp-mode-inline-completion
             (codegen-lsp-mode--serves-buffer-p)
             (codegen-lsp-mode-inline-completion-available-p))
    (lsp-inline-completion-mode 1)))

(add-hook 'lsp-after-open-hook #'codegen-lsp-mode--enable-inline-completion)

(defun codegen-lsp-mode--activate-p (_file-name mode)
  (if codegen-lsp-mode-major-modes
      (memq mode codegen-lsp-mode-major-modes)
    (provided-mode-derived-p mode 'prog-mode)))

(lsp-register-client
 (make-lsp-client
  :new-connection (lsp-stdio-connection (lambda () codegen-lsp-mode-server-command))
  :activation-fn #'codegen-lsp-mode--activate-p
  :add-on? t
  :priority -2
  :server-id 'codegen-lsp
  :initialization-options #'codegen-lsp-mode--initialization-options))

(defun codegen-lsp-mode--action (title-prefix)
  "The first Codegen code action here whose title starts with TITLE-PREFIX."
  (or (cl-find-if (lambda (action) (string-prefix-p title-prefix (lsp:code-action-title action)))
                  (lsp-code-actions-at-point))
      (user-error "codegen: no \"%s\" action here" title-prefix)))

;;;###autoload
(defun codegen-lsp-mode-rewrite (instruction)
  "Rewrite the region following INSTRUCTION."
  (interactive (list (read-string "Rewrite instruction: ")))
  (let* ((action (codegen-lsp-mode--action "Codegen: Rewrite"))
         (command (lsp:code-action-command? action))
         (arguments (lsp:command-arguments? command))
         (argument (and arguments (aref arguments 0))))
    (when argument
      (lsp-put argument :instruction instruction))
    (lsp-execute-code-action action)))

;;;###autoload
(defun codegen-lsp-mode-generate ()
  "Generate code from the comment at point."
  (interactive)
  (lsp-execute-code-action (codegen-lsp-mode--action "Codegen: Generate")))

;;;###autoload
(defun codegen-lsp-mode-cancel ()
  "Cancel every Codegen job."
  (interactive)
  (lsp-send-execute-command "codegen.cancel" (vector (list :all t))))

;;;###autoload
(defun codegen-lsp-mode-trust-project (&optional revoke)
  "Trust the workspace's .codegen-lsp.toml as it is now.
With prefix argument REVOKE, forget the trust instead."
  (interactive "P")
  (lsp-send-execute-command "codegen.trustProjectConfig"
                            (if revoke (vector (list :revoke t)) [])))

(provide 'codegen-lsp-mode)
;;; codegen-lsp-mode.el ends here

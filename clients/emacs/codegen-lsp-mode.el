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

(defun codegen-lsp-mode--initialization-options ()
  (let ((options (copy-sequence codegen-lsp-mode-settings))
        (key (and codegen-lsp-mode-api-key-function (funcall codegen-lsp-mode-api-key-function))))
    (when (and key (not (string-empty-p key)))
      (setq options (plist-put options :apiKey key)))
    (or options (make-hash-table))))

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

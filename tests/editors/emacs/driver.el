;;; driver.el --- drive Emacs + eglot through one codegen scenario in batch mode  -*- lexical-binding: t; -*-

;; emacs -Q --batch -l driver.el
;; Environment: CODEGEN_SCENARIO ("code-action": plain eglot, no plugin; "rewrite": clients/emacs
;; codegen.el with an instruction typed at its prompt; "lsp-mode-rewrite": lsp-mode with
;; clients/emacs codegen-lsp-mode.el, the same rewrite; "fix": codegen.el's codegen-fix on another
;; flymake checker's diagnostic; "fallback": plain eglot with the server's completion fallback
;; turned on in its initializationOptions, the user types CODEGEN_TYPE at the end of line
;; CODEGEN_LINE and completes with `completion-at-point'; "fallback-codegen": the same through
;; codegen.el's `codegen-completion-fallback'; "lsp-mode-fallback": the same in lsp-mode with
;; codegen-lsp-mode.el's `codegen-lsp-mode-completion-fallback'), CODEGEN_FILE, CODEGEN_RESULT (JSON written
;; here: ok, error, text, messages), CODEGEN_SERVER_CMD (JSON list), CODEGEN_CLIENT_DIR,
;; CODEGEN_INSTRUCTION.

;;; Code:

(require 'package)
(add-to-list 'package-directory-list "/usr/share/emacs/site-lisp/elpa")
(package-initialize)
(require 'json)
(require 'cl-lib)
(require 'eglot)
(require 'python)
;; as in an interactive session (batch mode starts without it): the region is what is selected
(transient-mark-mode 1)

(defvar driver-messages nil "Every message shown, newest first.")
(advice-add 'message :before
            (lambda (format-string &rest args)
              (when format-string
                (push (apply #'format-message format-string args) driver-messages))))

(defvar driver-timeout 30)

(defun driver-wait (what predicate)
  "Process events until PREDICATE holds, or fail naming WHAT."
  (let ((deadline (+ (float-time) driver-timeout)))
    (while (and (not (funcall predicate)) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (unless (funcall predicate)
      (error "Timed out waiting for %s" what))))

(defun driver-select-first-lines (count)
  "Select the first COUNT lines, as a user would with the mouse or C-SPC."
  (goto-char (point-min))
  (push-mark (point) t t)
  (forward-line count)
  (activate-mark))

(defun driver-answer-prompt (function)
  "Call FUNCTION interactively, typing CODEGEN_INSTRUCTION at its prompt."
  (cl-letf (((symbol-function 'read-string)
             (lambda (prompt &rest _)
               (push prompt driver-messages)
               (getenv "CODEGEN_INSTRUCTION"))))
    (call-interactively function)))

(defun driver-linter (report-fn &rest _)
  "A flymake checker that finds one undefined name on line 3, as a real linter would."
  (save-excursion
    (goto-char (point-min))
    (forward-line 2)
    (funcall report-fn (list (flymake-make-diagnostic (current-buffer) (+ (point) 6) (+ (point) 9)
                                                      :error "Name \"are\" is not defined")))))

(defvar driver-inline-available :json-false
  "Whether codegen-lsp-mode.el found lsp-mode's inline completion.")

(defun driver-run-lsp-mode (scenario server-cmd file)
  (require 'lsp-mode)
  (setq lsp-auto-guess-root t
        lsp-enable-snippet nil
        lsp-session-file (expand-file-name "lsp-session" (getenv "HOME"))
        lsp-restart 'ignore
        lsp-enabled-clients '(codegen-lsp))
  (add-to-list 'load-path (getenv "CODEGEN_CLIENT_DIR"))
  (require 'codegen-lsp-mode)
  (setq codegen-lsp-mode-server-command server-cmd)
  (when (equal scenario "lsp-mode-fallback")
    (setq codegen-lsp-mode-completion-fallback t))
  (find-file file)
  (python-mode)
  (lsp)
  (driver-wait "lsp-mode to initialize the server"
               (lambda ()
                 (cl-some (lambda (workspace) (eq (lsp--workspace-status workspace) 'initialized))
                          (lsp-workspaces))))
  (setq driver-inline-available
        (if (codegen-lsp-mode-inline-completion-available-p) t :json-false))
  (let ((tick (buffer-modified-tick)))
    (if (equal scenario "lsp-mode-fallback")
        (driver-complete-fallback #'lsp-completion-at-point)
      (driver-select-first-lines 2)
      (driver-answer-prompt #'codegen-lsp-mode-rewrite))
    (driver-wait "the edit" (lambda () (/= tick (buffer-modified-tick))))
    (accept-process-output nil 0.5)))

(defvar driver-candidates nil "The completion candidates the user saw.")

(defun driver-complete-fallback (&optional capf)
  "Type CODEGEN_TYPE at the end of line CODEGEN_LINE, then M-x completion-at-point.
The server answers a completion request with its suggestion when it has it
within a short wait, else with an incomplete list: the user (here, a loop)
asks again, as company or corfu do while typing.  CAPF is the client's
completion function (default eglot's)."
  (goto-char (point-min))
  (forward-line (1- (string-to-number (getenv "CODEGEN_LINE"))))
  (end-of-line)
  (insert (getenv "CODEGEN_TYPE"))
  (driver-wait "the completion fallback item"
               (lambda ()
                 (pcase-let ((`(,beg ,end ,table . ,_) (funcall (or capf #'eglot-completion-at-point))))
                   (setq driver-candidates
                         (all-completions (buffer-substring-no-properties beg end) table)))))
  (completion-at-point))

(cl-defun driver-run (scenario file)
  (let ((server-cmd (append (json-read-from-string (getenv "CODEGEN_SERVER_CMD")) nil)))
    (when (member scenario '("lsp-mode-rewrite" "lsp-mode-fallback"))
      (driver-run-lsp-mode scenario server-cmd file)
      (cl-return-from driver-run))
    (setq eglot-confirm-server-initiated-edits nil)
    (cond
     ((equal scenario "code-action")
      ;; the README's "no plugin" configuration
      (add-to-list 'eglot-server-programs (cons '(python-mode) server-cmd)))
     ((equal scenario "fallback")
      ;; the README's "no plugin" configuration of the completion fallback
      (add-to-list 'eglot-server-programs
                   (cons '(python-mode)
                         (append server-cmd
                                 '(:initializationOptions (:inline (:completionFallback t)))))))
     (t
      (add-to-list 'load-path (getenv "CODEGEN_CLIENT_DIR"))
      (require 'codegen)
      (setq codegen-server-command server-cmd)
      (when (equal scenario "fallback-codegen")
        (setq codegen-completion-fallback t))
      (codegen-eglot-setup '(python-mode))))
    (when (equal scenario "fix")
      ;; the README's advice: keep your own checkers when eglot manages the buffer
      (setq eglot-stay-out-of '(flymake))
      (add-hook 'python-mode-hook
                (lambda ()
                  (setq-local flymake-diagnostic-functions (list #'driver-linter))
                  (flymake-mode 1))))
    (find-file file)
    (python-mode)
    (apply #'eglot (eglot--guess-contact))
    (driver-wait "eglot to connect" #'eglot-current-server)
    (let ((tick (buffer-modified-tick)))
      (cond
       ((equal scenario "code-action")
        ;; M-x eglot-code-actions on the comment, picking the Codegen action from the menu
        (goto-char (point-min))
        (forward-char 3)
        ;; invoked from the keyboard (not a mouse menu), so eglot asks with completing-read
        (cl-letf* ((last-nonmenu-event ?\r)
                   ((symbol-function 'completing-read)
                   (lambda (_prompt collection &rest _)
                     (or (cl-find-if (lambda (title) (string-prefix-p "Codegen: Generate" title))
                                     (mapcar (lambda (c) (if (consp c) (car c) c)) collection))
                         (error "No Codegen action offered: %S" collection)))))
          (eglot-code-actions (point) (point) nil t)))
       ((equal scenario "rewrite")
        ;; select the first two lines, M-x codegen-rewrite, type the instruction
        (driver-select-first-lines 2)
        (driver-answer-prompt #'codegen-rewrite))
       ((equal scenario "fix")
        (flymake-start)
        (driver-wait "the linter's diagnostic" #'flymake-diagnostics)
        (goto-char (point-min))
        (forward-line 2)
        (forward-char 7)
        (call-interactively #'codegen-fix))
       ((member scenario '("fallback" "fallback-codegen"))
        (driver-complete-fallback))
       (t (error "Unknown scenario %s" scenario)))
      (driver-wait "the edit" (lambda () (/= tick (buffer-modified-tick))))
      ;; let a second, unexpected edit show up
      (accept-process-output nil 0.5))))

(let* ((scenario (getenv "CODEGEN_SCENARIO"))
       (file (getenv "CODEGEN_FILE"))
       (result (list (cons 'scenario scenario) (cons 'ok :json-false)))
       (text nil))
  (condition-case err
      (progn
        (driver-run scenario file)
        (setf (alist-get 'ok result) t))
    (error (setf (alist-get 'error result) (error-message-string err))))
  (let ((buffer (find-buffer-visiting file)))
    (when buffer
      (with-current-buffer buffer
        (setq text (buffer-substring-no-properties (point-min) (point-max)))
        (let ((server (eglot-current-server)))
          (when server
            (ignore-errors (eglot-shutdown server)))))))
  (setq result (append (list (cons 'text text)
                             (cons 'candidates (vconcat driver-candidates))
                             (cons 'inline_available driver-inline-available)
                             (cons 'messages (vconcat (reverse driver-messages))))
                       result))
  (with-temp-file (getenv "CODEGEN_RESULT")
    (insert (json-encode result)))
  (kill-emacs 0))

;;; driver.el ends here

//! A child process the tests talk to through pipes: it prints one message a
//! line on stdout (after a marker, when the test harness shares the output)
//! and reads commands from stdin. Every wait is bounded by [`TIMEOUT`];
//! dropping a [`Child`] kills and reaps the process, so a failed assertion
//! leaves neither zombies nor stray writers behind.

use std::fmt::Display;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long a test waits for any one message or exit.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Held while spawning a child. Between fork and exec a new process holds a
/// copy of every descriptor of this test process, including data files that
/// other tests have open and locked (they are close-on-exec, and
/// `Command::spawn` returns only after the exec). A test that needs its own
/// closed handles' locks gone holds this while it closes them
/// ([`drop_unforked`]), so that no half-spawned sibling keeps one alive.
static SPAWNING: Mutex<()> = Mutex::new(());

/// The guard of [`SPAWNING`].
pub fn no_spawn_in_flight() -> MutexGuard<'static, ()> {
    SPAWNING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Drops `value` (a mapping, a locked file) with no spawn in flight: once
/// this returns, no process holds a copy of its descriptor.
pub fn drop_unforked<T>(value: T) {
    let _guard = no_spawn_in_flight();
    drop(value);
}

/// A running child process and its pipes.
pub struct Child {
    label: String,
    child: std::process::Child,
    stdin: Option<ChildStdin>,
    messages: Receiver<String>,
    stderr: Option<JoinHandle<String>>,
    status: Option<ExitStatus>,
}

impl Child {
    /// Spawns `command` with piped stdio. Its messages are the stdout lines
    /// holding `mark` (the text after it), or every line when `mark` is
    /// empty. `label` names it in failures.
    pub fn spawn(mut command: Command, label: &str, mark: &'static str) -> Child {
        let spawning = no_spawn_in_flight();
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {label}: {e}"));
        drop(spawning);
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, messages) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let message = match line.find(mark) {
                    Some(at) => line[at + mark.len()..].to_string(),
                    None => continue,
                };
                if tx.send(message).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().expect("piped stderr");
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Child {
            label: format!("{label} (pid {})", child.id()),
            stdin: child.stdin.take(),
            child,
            messages,
            stderr: Some(stderr),
            status: None,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills and reaps the child, then panics with `what` and its stderr.
    #[track_caller]
    pub fn fail(&mut self, what: &str) -> ! {
        let status = self.kill();
        let stderr = self.take_stderr();
        panic!(
            "child {}: {what} (exit: {status})\n--- its stderr ---\n{stderr}",
            self.label
        );
    }

    /// The next message, within [`TIMEOUT`].
    #[track_caller]
    pub fn recv(&mut self) -> String {
        match self.messages.recv_timeout(TIMEOUT) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => self.fail("timed out waiting for a message"),
            Err(RecvTimeoutError::Disconnected) => {
                let status = self.wait();
                self.fail(&format!("exited ({status}) instead of sending a message"))
            }
        }
    }

    /// The next message, which must start with `word`; returns the rest.
    #[track_caller]
    pub fn expect(&mut self, word: &str) -> String {
        let message = self.recv();
        match message.strip_prefix(word) {
            Some(rest) => rest.trim().to_string(),
            None => self.fail(&format!("expected `{word} ...`, got `{message}`")),
        }
    }

    /// Like [`expect`](Self::expect), parsing the rest as one number.
    #[track_caller]
    pub fn expect_number(&mut self, word: &str) -> usize {
        let rest = self.expect(word);
        match rest.parse() {
            Ok(n) => n,
            Err(_) => self.fail(&format!("`{word} {rest}`: not a number")),
        }
    }

    /// Like [`expect`](Self::expect), parsing the rest as numbers.
    #[track_caller]
    pub fn expect_numbers(&mut self, word: &str) -> Vec<u64> {
        let rest = self.expect(word);
        match rest.split_whitespace().map(str::parse).collect() {
            Ok(numbers) => numbers,
            Err(_) => self.fail(&format!("`{word} {rest}`: not numbers")),
        }
    }

    /// Sends one command line.
    #[track_caller]
    pub fn send(&mut self, command: impl Display) {
        let stdin = self.stdin.as_mut().expect("stdin is open until finish");
        if let Err(e) = writeln!(stdin, "{command}").and_then(|()| stdin.flush()) {
            self.fail(&format!("could not be sent `{command}`: {e}"));
        }
    }

    /// Waits for the child to exit, within [`TIMEOUT`].
    #[track_caller]
    pub fn wait(&mut self) -> ExitStatus {
        if let Some(status) = self.status {
            return status;
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    self.status = Some(status);
                    return status;
                }
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(2)),
                Ok(None) => self.fail("did not exit in time"),
                Err(e) => panic!("waiting for child {}: {e}", self.label),
            }
        }
    }

    /// Closes the child's stdin (its signal to finish) and asserts that it
    /// exits successfully (in particular, not killed by a signal).
    #[track_caller]
    pub fn finish(mut self) {
        self.stdin = None;
        let status = self.wait();
        if !status.success() {
            self.fail("failed");
        }
    }

    /// Kills the child with `SIGKILL` (a no-op if it has exited) and reaps it.
    pub fn kill(&mut self) -> ExitStatus {
        if let Some(status) = self.status {
            return status;
        }
        let _ = self.child.kill();
        let status = self.child.wait().expect("reaping the child");
        self.status = Some(status);
        status
    }

    /// Every message the (dead) child sent that was not received yet.
    pub fn remaining_messages(&mut self) -> Vec<String> {
        assert!(self.status.is_some(), "the child is still running");
        let mut rest = vec![];
        loop {
            match self.messages.recv_timeout(TIMEOUT) {
                Ok(message) => rest.push(message),
                Err(RecvTimeoutError::Disconnected) => return rest,
                Err(RecvTimeoutError::Timeout) => panic!("the dead child's stdout stays open"),
            }
        }
    }

    /// What the child wrote on stderr (once it has exited).
    pub fn take_stderr(&mut self) -> String {
        self.stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.kill();
    }
}

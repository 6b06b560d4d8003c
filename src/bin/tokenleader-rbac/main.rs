//! `tokenleader-rbac`: get and verify tokenleader tokens, store credentials, manage users,
//! check and explain ACL maps.
//!
//! ```text
//! TL_PASSWORD=user1 tokenleader-rbac gettoken --url http://127.0.0.1:5001 --user user1
//! tokenleader-rbac gettoken --config /etc/tokenleader/client_configs.yml   # stored password, else a prompt
//! tokenleader-rbac gettoken --url http://127.0.0.1:5001 --user user1 --domain example --otp
//! tokenleader-rbac credentials store --config /etc/tokenleader/client_configs.yml   # prompts
//! tokenleader-rbac users list --config /etc/tokenleader/client_configs.yml [--json]
//! TL_NEW_USER_PASSWORD=pw tokenleader-rbac users add --config … --name user5 --email user5@example --wfc wfc1 --roles role1
//! tokenleader-rbac verify "$TOKEN" --key /etc/tokenleader/id_rsa.pub [--raw]
//! tokenleader-rbac verify "$TOKEN" --config /etc/tokenleader/client_configs.yml
//! tokenleader-rbac verify "$TOKEN" --remote --url http://127.0.0.1:5001
//! tokenleader-rbac acl check role_to_acl_map.example.yml --rules-from examples/microservice/rules.txt
//! tokenleader-rbac acl explain role_to_acl_map.example.yml --roles role1,role2 --rule micros1.whoami
//! tokenleader-rbac acl matrix role_to_acl_map.example.yml --rules-from examples/microservice/rules.txt --format html > matrix.html
//! tokenleader-rbac acl test role_to_acl_map.example.yml role_to_acl_map.example.test.yml [--coverage]
//! tokenleader-rbac acl diff old.yml new.yml --rules-from policy.yml [--json | --format markdown] [--exit-code]
//! tokenleader-rbac acl replay new.yml --decisions decisions.jsonl [--exit-code]
//! ```
//!
//! Exit codes: 0 success (a valid token, an allowed decision, a consistent map), 1 a negative
//! answer (invalid token, denied, inconsistencies with `--strict`), 2 an error (bad input,
//! unreadable file, unreachable server), with one line on standard error.

/// Prints a line on standard output. A closed pipe (`… | head`) ends the program quietly, as
/// other command-line tools end (status 141, a shell's for SIGPIPE), rather than with a panic.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// [`say!`] without the line break.
macro_rules! say_raw {
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!($($arg)*))
    };
}

mod acl;
mod credentials;
mod matrix;
mod policy;
mod token;
mod users;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use acl::AclCommand;
use token::{LocalCheck, Login, gettoken, read_token, verify_local, verify_remote};

pub(crate) use token::KeySource;

#[derive(Parser)]
#[command(
    name = "tokenleader-rbac",
    version,
    about = "Tokens and ACL maps of a tokenleader system"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Get a token from a tokenleader server. The password comes from TL_PASSWORD, else the
    /// credentials stored as --config names them, else a prompt on a terminal (not echoed),
    /// else the first line of standard input; never from the command line.
    Gettoken {
        #[command(flatten)]
        server: Server,
        #[command(flatten)]
        login: Login,
        /// Print the token and the service catalog as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Store the password encrypted, as the Python `tokenleader-auth -p` does: the Fernet key
    /// file (made when missing) and the INI file that client_configs.yml names. Unlike
    /// `tokenleader-auth`, the password never comes from the command line: TL_PASSWORD, a
    /// prompt, or standard input.
    Credentials {
        #[command(subcommand)]
        command: CredentialsCommand,
    },
    /// The users of a tokenleader server. The 1.8 server guards only `list`: `add` and
    /// `delete` are open to anyone who reaches it.
    Users {
        #[command(flatten)]
        server: Server,
        #[command(flatten)]
        login: Login,
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Verify a token, locally with the server's public key or remotely; print its claims.
    Verify {
        /// The token, or `-` to read it from standard input.
        token: String,
        /// The server's public key file (ssh-rsa line, PEM or JWK: RSA, EC P-256/P-384 or
        /// Ed25519); or `tl_public_key` of --config.
        #[arg(long, conflicts_with = "remote")]
        key: Option<PathBuf>,
        /// The algorithms accepted, comma-separated (e.g. `ES256,ES384`).
        #[arg(long, value_delimiter = ',', default_value = "RS512", value_parser = parse_algorithm)]
        algorithms: Vec<tokenleader_rbac::Algorithm>,
        /// Ask the server (`/token/verify_token`) instead of checking locally; a token whose
        /// header is refused locally is not sent.
        #[arg(long)]
        remote: bool,
        #[command(flatten)]
        server: Server,
        /// Check as if the time were this Unix time (local verification).
        #[arg(long)]
        at: Option<u64>,
        /// Print the token's own claims as verified, rather than the normalised view.
        #[arg(long)]
        raw: bool,
    },
    /// Check or explain an ACL map.
    Acl {
        #[command(subcommand)]
        command: AclCommand,
    },
}

#[derive(Subcommand)]
enum CredentialsCommand {
    /// Encrypt the password into the files client_configs.yml names.
    Store {
        /// tokenleader's client_configs.yml (`user_auth_info_file_location`, `fernet_key_file`).
        #[arg(long, env = "TL_CLIENT_CONFIG")]
        config: PathBuf,
        /// Replace an existing credentials file (the Python tool refuses; so does this one
        /// without this flag).
        #[arg(long)]
        replace: bool,
    },
    /// Check that the stored password decrypts (it is not printed).
    Check {
        /// tokenleader's client_configs.yml.
        #[arg(long, env = "TL_CLIENT_CONFIG")]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
pub(crate) enum UsersCommand {
    /// List every user (needs a role that grants
    /// tokenleader.adminops.adminops_restapi.list_users).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one user.
    Show {
        /// The user name.
        name: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Register a user; its password comes from TL_NEW_USER_PASSWORD, a prompt, or the next
    /// line of standard input.
    Add {
        /// The user name.
        #[arg(long)]
        name: String,
        /// The e-mail address.
        #[arg(long)]
        email: String,
        /// The name of a registered work function context.
        #[arg(long)]
        wfc: String,
        /// Registered roles, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        roles: Vec<String>,
    },
    /// Delete a user.
    Delete {
        /// The user name.
        name: String,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum MatrixFormat {
    /// A Markdown table.
    Md,
    /// One self-contained HTML page.
    Html,
}

/// Where the server is, as the Python CLI takes it: flags, or tokenleader's
/// `client_configs.yml` (`tl_url`, `tl_user`, `ssl_verify`, `tl_public_key`).
#[derive(Args)]
pub(crate) struct Server {
    /// The tokenleader server's URL (default: `tl_url` of --config).
    #[arg(long, env = "TL_URL", global = true)]
    pub(crate) url: Option<String>,
    /// tokenleader's client_configs.yml.
    #[arg(long, env = "TL_CLIENT_CONFIG", global = true)]
    pub(crate) config: Option<PathBuf>,
    /// Do not verify the server's TLS certificate (dangerous).
    #[arg(long, global = true)]
    pub(crate) insecure: bool,
}

fn parse_algorithm(name: &str) -> Result<tokenleader_rbac::Algorithm, String> {
    name.trim()
        .parse()
        .map_err(|_| format!("`{name}` is not a JWS algorithm (RS512, ES256, ES384, EdDSA, …)"))
}

/// Writes to standard output; a closed pipe ends the program quietly.
pub(crate) fn write_stdout(text: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    if let Err(error) = out.write_fmt(text).and_then(|()| out.flush()) {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("tokenleader-rbac: cannot write the output: {error}");
        std::process::exit(2);
    }
}

/// A failure with the exit code it ends in.
pub(crate) struct Failure {
    code: u8,
    message: String,
}

pub(crate) fn error(message: impl std::fmt::Display) -> Failure {
    Failure {
        code: 2,
        message: message.to_string(),
    }
}

pub(crate) fn negative(message: impl std::fmt::Display) -> Failure {
    Failure {
        code: 1,
        message: message.to_string(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run(cli.command)),
        Err(e) => Err(error(format!("cannot start the runtime: {e}"))),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("tokenleader-rbac: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

async fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Gettoken {
            server,
            login,
            json,
        } => gettoken(&server, &login, json).await,
        Command::Credentials { command } => match command {
            CredentialsCommand::Store { config, replace } => credentials::store(&config, replace),
            CredentialsCommand::Check { config } => credentials::check(&config),
        },
        Command::Users {
            server,
            login,
            command,
        } => users::users(&server, &login, command).await,
        Command::Verify {
            token,
            key,
            algorithms,
            remote,
            server,
            at,
            raw,
        } => {
            let token = read_token(&token)?;
            let check = |key| LocalCheck {
                key,
                algorithms,
                at,
                raw,
            };
            match (remote, key, &server.config) {
                (true, _, _) => verify_remote(&token, &server).await,
                (false, Some(key), _) => verify_local(&token, check(KeySource::File(key))),
                (false, None, Some(config)) => {
                    verify_local(&token, check(KeySource::ClientConfig(config.clone())))
                }
                (false, None, None) => Err(error(
                    "give --key FILE, --config client_configs.yml, or --remote",
                )),
            }
        }
        Command::Acl { command } => acl::run(command),
    }
}

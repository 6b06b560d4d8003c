//! The users API of a tokenleader 1.8 server: list, show, add and delete users.
//!
//! ```no_run
//! use tokenleader_rbac::client::{Client, NewUser};
//!
//! # async fn demo() -> Result<(), tokenleader_rbac::client::ClientError> {
//! let admin = Client::from_client_config("/etc/tokenleader/client_configs.yml")?.build()?;
//! for user in admin.list_users().await? {
//!     println!("{} {:?} {}", user.username, user.roles, user.wfc.org);
//! }
//! admin.add_user(&NewUser::new("user5", "user5@example", "pw", "wfc5", ["role1"])).await?;
//! admin.delete_user("user5").await?;
//! # Ok(()) }
//! ```
//!
//! Every call authenticates as the client's configured user (its cached token, sent as
//! `X-Auth-Token`), as the Python client does. **The 1.8 server guards only the listing**
//! (`GET /list/users`, rule `tokenleader.adminops.adminops_restapi.list_users`): showing,
//! adding and deleting users is open to anyone who can reach the server, token or not. Keep
//! those routes behind a proxy that checks the caller.
//!
//! On the 1.8 server a work function context belongs to one user (and an org, orgunit and
//! department to one wfc): adding a user on a wfc another user has takes it from them, and
//! their logins then fail with HTTP 500. Register a wfc per user (`adminops addwfc`) first.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Client, ClientError, Password, read_json, request_error};
use crate::claims::Wfc;
use crate::client::ForwardAuthToken;

/// A user as the server lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct User {
    /// The user's id.
    pub id: u64,
    /// The user name.
    pub username: String,
    /// The e-mail address.
    pub email: String,
    /// The user's roles.
    pub roles: Vec<String>,
    /// The user's work function context.
    pub wfc: Wfc,
}

/// A user to register with [`Client::add_user`]. The password stays out of `Debug` output.
#[derive(Clone, Serialize)]
pub struct NewUser {
    name: String,
    email: String,
    password: Password,
    wfc: String,
    roles: Vec<String>,
}

impl NewUser {
    /// A user `name` with an e-mail address, a password, the name of a registered work
    /// function context, and registered roles.
    pub fn new(
        name: impl Into<String>,
        email: impl Into<String>,
        password: impl Into<String>,
        wfc: impl Into<String>,
        roles: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        NewUser {
            name: name.into(),
            email: email.into(),
            password: Password(password.into()),
            wfc: wfc.into(),
            roles: roles.into_iter().map(Into::into).collect(),
        }
    }

    /// The user name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("name", &self.name)
            .field("email", &self.email)
            .field("password", &self.password)
            .field("wfc", &self.wfc)
            .field("roles", &self.roles)
            .finish()
    }
}

/// What the users routes answer: `{"status": …}`, or the enforcer's refusal
/// `{"message": "this endpoint is restricted …"}` (HTTP 200).
#[derive(Deserialize)]
#[serde(untagged)]
enum Answer<T> {
    Status { status: T },
    Restricted { message: String },
}

/// `/list/user/<name>` answers `{"status": {"error": "No such record is found"}}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Lookup {
    Found(User),
    Missing { error: String },
}

impl<T> Answer<T> {
    fn status(self) -> Result<T, ClientError> {
        match self {
            Answer::Status { status } => Ok(status),
            Answer::Restricted { message } => {
                tracing::debug!(%message, "the tokenleader server refused a users call");
                Err(ClientError::Forbidden)
            }
        }
    }
}

impl Client {
    /// `GET /list/users`: every user. Needs a configured user whose role grants
    /// `tokenleader.adminops.adminops_restapi.list_users` ([`ClientError::Forbidden`] if not).
    pub async fn list_users(&self) -> Result<Vec<User>, ClientError> {
        let answer: Answer<Vec<User>> = self
            .users_call(reqwest::Method::GET, &["list", "users"], None)
            .await?;
        answer.status()
    }

    /// `GET /list/user/<name>`: one user, `None` when the server has none by that name.
    pub async fn user(&self, name: &str) -> Result<Option<User>, ClientError> {
        let answer: Answer<Lookup> = self
            .users_call(reqwest::Method::GET, &["list", "user", name], None)
            .await?;
        match answer.status()? {
            Lookup::Found(user) => Ok(Some(user)),
            Lookup::Missing { error } if error == "No such record is found" => Ok(None),
            Lookup::Missing { error } => Err(ClientError::Malformed(format!(
                "an unknown error for user `{name}`: {error}"
            ))),
        }
    }

    /// `POST /add/user`: registers a user. Open to anyone on a 1.8 server (see the
    /// [module docs](crate::client::users)).
    pub async fn add_user(&self, user: &NewUser) -> Result<(), ClientError> {
        let answer: Answer<String> = self
            .users_call(reqwest::Method::POST, &["add", "user"], Some(user))
            .await?;
        let status = answer.status()?;
        let refused = |reason: &str| ClientError::UserNotAdded {
            name: user.name.clone(),
            reason: reason.to_owned(),
        };
        if status == format!("{} has been registered.", user.name) {
            Ok(())
        } else if status == "user registration aborted" {
            Err(refused(
                "registration aborted: are the wfc and every role registered?",
            ))
        } else if status.starts_with("databse integrity error") {
            // The server's text goes on with the SQL statement and the password's hash: not
            // repeated here.
            Err(refused("a user by that name or e-mail exists already"))
        } else {
            Err(refused("the server answered an unknown status"))
        }
    }

    /// `DELETE /delete/user/<name>`: removes a user. Open to anyone on a 1.8 server (see the
    /// [module docs](crate::client::users)).
    pub async fn delete_user(&self, name: &str) -> Result<(), ClientError> {
        let answer: Answer<String> = self
            .users_call(reqwest::Method::DELETE, &["delete", "user", name], None)
            .await?;
        let status = answer.status()?;
        if status == format!("{name} has been  deleted successfully")
            || status == format!("{name} has been deleted successfully")
        {
            Ok(())
        } else if status.ends_with("not found in database") {
            Err(ClientError::NoSuchUser(name.to_owned()))
        } else {
            Err(ClientError::Refused {
                status,
                message: String::new(),
            })
        }
    }

    /// One call of the users API, authenticated with the configured user's token; the path
    /// segments are percent-encoded.
    async fn users_call<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        segments: &[&str],
        body: Option<&NewUser>,
    ) -> Result<T, ClientError> {
        let token = self.token().await?;
        let mut url = reqwest::Url::parse(&self.inner.base_url)
            .map_err(|e| ClientError::Config(format!("the server URL: {e}")))?;
        url.path_segments_mut()
            .map_err(|()| ClientError::Config("the server URL cannot take a path".into()))?
            .pop_if_empty()
            .extend(segments);
        let mut request = self.inner.http.request(method, url).auth_token(&token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(request_error)?;
        read_json(response).await
    }
}

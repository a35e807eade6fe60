//! In-memory state: tenants (companies), their directories and projects, and OAuth credentials.
//!
//! Nothing here knows about HTTP. Companies are fixed for a store's life and read without a lock
//! (tenants never contend with each other); each company's [`Directory`] sits behind its own
//! `RwLock`, so a company's rules can
//! be checked and applied as one step. The lock is `parking_lot`'s: it is never held across an
//! `.await` and cannot be poisoned by a panicking request.

pub mod crux;
pub mod directory;
pub mod oauth;
pub mod user;
pub mod webhooks;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use foldhash::fast::RandomState;
use parking_lot::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub use directory::{Directory, Membership, PermissionTemplate, Project, TemplateKind, Vendor};
pub use oauth::{OAuthApp, OAuthStore, Scope};
pub use user::User;
pub use webhooks::CompanyWebhooks;

/// A tenant: one Procore company.
#[derive(Debug)]
pub struct Company {
    /// Company id.
    pub id: u64,
    /// Company name.
    pub name: String,
    /// Whether the company account is active.
    pub is_active: bool,
    directory: RwLock<Directory>,
    /// Hooks, triggers, waiting events and delivery logs. Its own lock, so delivering never
    /// waits on directory requests; whoever holds both takes the directory's first.
    webhooks: Mutex<CompanyWebhooks>,
}

impl Company {
    /// A new company with the given contents.
    pub fn new(id: u64, name: String, is_active: bool, directory: Directory) -> Self {
        Self {
            id,
            name,
            is_active,
            directory: RwLock::new(directory),
            webhooks: Mutex::new(CompanyWebhooks::default()),
        }
    }

    /// The company's webhooks. Held only for a step that does not await.
    pub fn webhooks(&self) -> MutexGuard<'_, CompanyWebhooks> {
        self.webhooks.lock()
    }

    /// Shared access to the company's data, for reads.
    pub fn read(&self) -> RwLockReadGuard<'_, Directory> {
        self.directory.read()
    }

    /// Exclusive access to the company's data, for a check-and-change step.
    pub fn write(&self) -> RwLockWriteGuard<'_, Directory> {
        self.directory.write()
    }
}

/// All server state that requests read and change.
///
/// Companies, their projects and the OAuth apps are fixed for a store's life (a reset or a
/// state PUT swaps in a whole new store), so they sit in plain maps that requests read without
/// any lock or reference count; what requests change lives behind each company's own lock
/// and in the credential `DashMap`s.
#[derive(Debug, Default)]
pub struct Store {
    companies: BTreeMap<u64, Company>,
    /// project id -> company id, so project routes find their tenant without a scan.
    project_companies: HashMap<u64, u64, RandomState>,
    /// OAuth applications and credentials.
    pub oauth: OAuthStore,
    /// Crux Connect's organizations, permissions and tokens (none of Procore's rules apply).
    pub crux: crux::CruxStore,
    /// The next id to hand out; ids are unique across the whole server.
    next_id: AtomicU64,
}

impl Store {
    /// An empty store whose ids start above `highest_used_id`.
    pub fn new(highest_used_id: u64) -> Self {
        Self {
            next_id: AtomicU64::new(highest_used_id + 1),
            ..Self::default()
        }
    }

    /// A fresh id, never handed out before by this store.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The id [`Store::next_id`] would hand out next, without taking it.
    pub fn peek_next_id(&self) -> u64 {
        self.next_id.load(Ordering::Relaxed)
    }

    /// Adds a company (and indexes its projects), while the store is being built.
    pub fn insert_company(&mut self, company: Company) {
        for project_id in company.read().projects.keys() {
            self.project_companies.insert(*project_id, company.id);
        }
        self.companies.insert(company.id, company);
    }

    /// The company with `id`.
    pub fn company(&self, id: u64) -> Option<&Company> {
        self.companies.get(&id)
    }

    /// All companies in id order.
    pub fn companies(&self) -> impl Iterator<Item = &Company> {
        self.companies.values()
    }

    /// The company that owns project `project_id`.
    pub fn company_of_project(&self, project_id: u64) -> Option<&Company> {
        self.company(*self.project_companies.get(&project_id)?)
    }
}

//! A customer's accounts: the mapped accounts that are in `users`, with
//! what each lends the customer (friends, influence, persuaded, leading a
//! topic, its persuaded adoptions), and `friend_count(c)` over several
//! accounts: `|(union of N(a) for a in A(c)) \ A(c)|`.
//!
//! A customer with one account has that account's friend count, so only
//! customers with two or more accounts look their accounts' friends up in
//! the graph (few customers: the join touches only their accounts).

use differential_dataflow::AsCollection;
use serde::{Deserialize, Serialize};
use timely::dataflow::operators::vec::Map;

use super::Customer;
use crate::dataflow::friends::FriendsByUser;
use crate::dataflow::leaders::Leader;
use crate::dataflow::operators::arranged::arrange_by_key;
use crate::dataflow::operators::current::reduce_current;
use crate::dataflow::operators::lookup::{lookup, Times};
use crate::dataflow::topical::UserTopic;
use crate::dataflow::{Coll, Day, Topic, User};
use crate::hash::mix;
use crate::tables::{Decimal, UserRow};

/// What an account of `A(c)` lends its customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Account {
    /// The account.
    pub user: User,
    /// Its friend count.
    pub friends: u32,
    /// Its influence.
    pub influence: Decimal,
    /// Its persuaded_total.
    pub persuaded: u64,
    /// Whether it leads a topic.
    pub leads: bool,
}

/// A persuaded adoption of a customer's account: `(v, a(v, t), k(v, t))`.
pub type Adopted = (User, Day, u32);

/// What [`accounts`] gives.
pub struct Accounts<'s> {
    /// `(c, account)` for every account of `A(c)`.
    pub present: Coll<'s, (Customer, Account)>,
    /// `((c, t), (v, a(v,t), k(v,t)))` for each persuaded adoption (k >= 1)
    /// of an account `v` of customer `c`.
    pub adopted: Coll<'s, ((Customer, Topic), Adopted)>,
}

/// What is known of an account, gathered by account.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
enum Fact {
    Customer(Customer),
    User(u32, Decimal, u64),
    Leads,
    Persuaded(Topic, Day, u32),
}

/// An account's outputs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
enum Out {
    Present(Customer, Account),
    Adopted((Customer, Topic), Adopted),
}

/// Joins the identities to the social tables, by account.
pub fn accounts<'s>(
    identities: Coll<'s, (User, Customer)>,
    users: Coll<'s, UserRow>,
    leaders: Coll<'s, Leader>,
    user_topics: Coll<'s, UserTopic>,
) -> Accounts<'s> {
    let facts = identities
        .map(|(user, customer)| (user, Fact::Customer(customer)))
        .concat(users.map(|row| {
            (
                row.user_id as User,
                Fact::User(row.friend_count, row.influence, row.persuaded_total),
            )
        }))
        .concat(leaders.map(|leader| (leader.candidate.user, Fact::Leads)))
        .concat(user_topics.flat_map(|row| {
            (row.persuaders > 0).then_some((
                row.user,
                Fact::Persuaded(row.topic, row.day, row.persuaders),
            ))
        }));
    let out = reduce_current(
        facts,
        "CustomerAccounts",
        |user| mix(u64::from(*user)),
        |&user, facts, out| {
            let Some(customer) = facts.iter().find_map(|(fact, _)| match fact {
                Fact::Customer(c) => Some(*c),
                _ => None,
            }) else {
                return;
            };
            let leads = facts.iter().any(|(fact, _)| *fact == Fact::Leads);
            for (fact, _) in facts {
                match fact {
                    Fact::User(friends, influence, persuaded) => out.push(Out::Present(
                        customer,
                        Account {
                            user,
                            friends: *friends,
                            influence: *influence,
                            persuaded: *persuaded,
                            leads,
                        },
                    )),
                    Fact::Persuaded(topic, day, k) => {
                        out.push(Out::Adopted((customer, *topic), (user, *day, *k)))
                    }
                    Fact::Customer(_) | Fact::Leads => {}
                }
            }
        },
    );
    Accounts {
        present: out.clone().flat_map(|out| match out {
            Out::Present(c, account) => Some((c, account)),
            Out::Adopted(..) => None,
        }),
        adopted: out.flat_map(|out| match out {
            Out::Adopted(key, adopted) => Some((key, adopted)),
            Out::Present(..) => None,
        }),
    }
}

/// A value gathered per customer for the union of its accounts' friends.
#[cfg(test)]
mod tests {
    use super::AccountSet;

    #[test]
    fn account_sets_hold_exactly_their_accounts() {
        for accounts in [vec![0u32, 1, 63, 64, 1000], vec![5, 1 << 31, 7]] {
            let set = AccountSet::new(accounts.clone());
            assert_eq!(matches!(set, AccountSet::Bits(_)), accounts[1] < 1 << 29);
            for a in 0..1100u32 {
                assert_eq!(set.contains(&a), accounts.contains(&a), "{a}");
            }
            assert_eq!(set.contains(&(1 << 31)), accounts.contains(&(1 << 31)));
            assert!(!set.contains(&u32::MAX));
        }
        assert!(!AccountSet::new([]).contains(&0));
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
enum Near {
    Friend(User),
    Own(User),
}

/// Accounts that may belong to a customer with two or more accounts: a
/// filter on the base's friendships (see [`friend_union`]).
pub type Candidates = std::rc::Rc<AccountSet>;

/// A set of accounts, asked once or twice for every base friendship: a
/// bitmap when the largest account allows one of at most 64 MiB (dense ids:
/// integer ids up to 2^29, every text id's internal id), else a hash set.
/// At 1M users the bitmap is 128 KB and its test a few instructions (the
/// hashed filter showed 0.44 s of worker 0's base in a profile; the batch's
/// wall time did not measurably move).
pub enum AccountSet {
    /// Bit `u` set for each account `u`.
    Bits(Vec<u64>),
    /// The accounts, hashed.
    Hashed(crate::hash::IdMap<User, ()>),
}

impl AccountSet {
    /// The set of `accounts`.
    pub fn new(accounts: impl IntoIterator<Item = User>) -> AccountSet {
        let accounts: Vec<User> = accounts.into_iter().collect();
        match accounts.iter().max() {
            Some(&max) if max >= 1 << 29 => {
                AccountSet::Hashed(accounts.into_iter().map(|a| (a, ())).collect())
            }
            max => {
                let words = max.map_or(0, |m| m / 64 + 1) as usize;
                let mut bits = vec![0u64; words];
                for a in accounts {
                    bits[(a / 64) as usize] |= 1 << (a % 64);
                }
                AccountSet::Bits(bits)
            }
        }
    }

    /// Whether `account` is in the set.
    pub fn contains(&self, account: &User) -> bool {
        match self {
            AccountSet::Bits(bits) => bits
                .get((account / 64) as usize)
                .is_some_and(|word| word >> (account % 64) & 1 == 1),
            AccountSet::Hashed(set) => set.contains_key(account),
        }
    }
}

/// `friend_count(c)` for customers with two or more accounts in `A(c)`.
///
/// The friends of those accounts are a delta join of the friendships `F`
/// with `S`, the accounts of such customers: a friendship that changes
/// meets `S` as it stands after the change (`FriendshipMeetsSeveral`), and
/// an account that joins or leaves `S` meets its friends as they stood
/// before (`SeveralMeetsFriends`, over `by_user`, only built for nights).
/// A batch has only the first path, and its base friendships are first
/// narrowed to `candidates` (accounts whose customer has two or more mapped
/// accounts, known from the identities before the dataflow runs): a few
/// million lookups instead of every friendship twice.
pub fn friend_union<'s>(
    present: Coll<'s, (Customer, Account)>,
    friendships: Coll<'s, (User, User)>,
    by_user: Option<&FriendsByUser<'s>>,
    candidates: Option<Candidates>,
) -> Coll<'s, (Customer, u32)> {
    let several = reduce_current(
        present.map(|(c, account)| (c, account.user)),
        "SeveralAccounts",
        |c| mix(*c),
        |&c, users, out| {
            if users.len() >= 2 {
                out.extend(users.iter().map(|(user, _)| (*user, c)));
            }
        },
    );
    let arranged = arrange_by_key(several.clone(), "SeveralByAccount");
    // Each friendship as two requests, one per end; in the base only those
    // whose end is a candidate (the other end's lookup would find nothing).
    let requests = match candidates {
        None => friendships.flat_map(|(a, b)| [(a, b), (b, a)]),
        Some(candidates) => friendships
            .inner
            .flat_map(move |((a, b), time, diff)| {
                let keep = |end: &User| time > 0 || candidates.contains(end);
                let (ab, ba) = (keep(&a), keep(&b));
                [
                    ab.then_some(((a, b), time, diff)),
                    ba.then_some(((b, a), time, diff)),
                ]
                .into_iter()
                .flatten()
            })
            .as_collection(),
    };
    let mut friends = lookup(
        "FriendshipMeetsSeveral",
        requests,
        &arranged,
        Times::Through,
        |_account, friend, c, out| out.push((*c, Near::Friend(*friend))),
    );
    if let Some(by_user) = by_user {
        friends = friends.concat(lookup(
            "SeveralMeetsFriends",
            several.clone(),
            by_user,
            Times::Before,
            |_account, c, friend, out| out.push((*c, Near::Friend(*friend))),
        ));
    }
    reduce_current(
        friends.concat(several.map(|(user, c)| (c, Near::Own(user)))),
        "CustomerFriends",
        |c| mix(*c),
        |&c, near, out| {
            let own: Vec<User> = near
                .iter()
                .filter_map(|(n, _)| match n {
                    Near::Own(user) => Some(*user),
                    Near::Friend(_) => None,
                })
                .collect();
            let count = near
                .iter()
                .filter(|(n, _)| matches!(n, Near::Friend(f) if !own.contains(f)))
                .count();
            out.push((c, count as u32));
        },
    )
}

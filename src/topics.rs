//! Topic interning: topics travel through the dataflow as dense `u32` ids
//! and leave it as their names.
//!
//! Every worker holds the same dictionary. For the base load it is built
//! from the sorted set of all topic names (gathered from every worker before
//! any adoption enters the dataflow), so ids are in name order and the same
//! on every worker and at every worker count. Topics first seen in a later
//! night get the next ids; comparisons that must follow names (the
//! `top_topic` tie-break) therefore compare names, not ids.
//!
//! Names are shared ([`Name`]): the rows that leave the dataflow carry a
//! pointer to the dictionary's name, not a copy of it (one allocation per
//! row less: 5.7M `user_topics` and `users` rows at 1M users).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

/// A topic's name as rows carry it, shared with the dictionary.
pub type Name = Arc<str>;

/// An interned topic: a dense id, in name order for the base's topics.
pub type Topic = u32;

/// Topic names by id, and ids by name.
#[derive(Clone, Debug, Default)]
pub struct Dictionary {
    names: Vec<Name>,
    ids: HashMap<Name, Topic>,
}

/// A worker's dictionary, shared by its operators.
pub type Shared = Rc<RefCell<Dictionary>>;

impl Dictionary {
    /// A dictionary of the given names: sorted, deduplicated, ids in name order.
    pub fn from_names(mut names: Vec<String>) -> Dictionary {
        names.sort_unstable();
        names.dedup();
        let mut dictionary = Dictionary::default();
        dictionary.extend(names);
        dictionary
    }

    /// Adds names not yet present, in the order given, with the next ids.
    pub fn extend(&mut self, names: impl IntoIterator<Item = String>) {
        for name in names {
            if !self.ids.contains_key(name.as_str()) {
                let id = Topic::try_from(self.names.len()).expect("fewer than 2^32 topics");
                let name: Name = name.into();
                self.ids.insert(Arc::clone(&name), id);
                self.names.push(name);
            }
        }
    }

    /// Every name, by id.
    pub fn names(&self) -> Vec<String> {
        self.names.iter().map(|name| name.to_string()).collect()
    }

    /// The name of `id`.
    pub fn name(&self, id: Topic) -> &str {
        &self.names[id as usize]
    }

    /// The name of `id`, shared (for rows).
    pub fn shared_name(&self, id: Topic) -> Name {
        Arc::clone(&self.names[id as usize])
    }

    /// The id of a name.
    pub fn id(&self, name: &str) -> Option<Topic> {
        self.ids.get(name).copied()
    }

    /// How many topics.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are no topics.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Wraps the dictionary for a worker's operators.
    pub fn shared(self) -> Shared {
        Rc::new(RefCell::new(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_names_then_arrival() {
        let mut d = Dictionary::from_names(vec!["rock".into(), "jazz".into(), "rock".into()]);
        assert_eq!(d.id("jazz"), Some(0));
        assert_eq!(d.id("rock"), Some(1));
        d.extend(["blues".to_string(), "jazz".to_string()]);
        assert_eq!(d.id("blues"), Some(2));
        assert_eq!(d.name(2), "blues");
        assert_eq!(d.len(), 3);
    }
}

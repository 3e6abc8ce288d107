//! A struct's fields as a JSON object, leaving some out without serializing them.
//!
//! Why: the state document is saved after every step, and its list of steps grows with
//! the run. Serializing the whole document each time would make a step's cost grow with
//! the number of steps before it; this serializes every other field (whatever fields the
//! type has today or gets tomorrow) and leaves the growing list to the caller.

use serde::Serialize;
use serde::ser::{self, Impossible};
use serde_json::{Map, Value};

/// The fields of `value` (a struct, or a map with string keys) except those named in
/// `skip`, as a JSON object.
pub fn to_object_without<T: Serialize>(
    value: &T,
    skip: &[&str],
) -> Result<Map<String, Value>, serde_json::Error> {
    value.serialize(Fields { skip })
}

struct Fields<'a> {
    skip: &'a [&'a str],
}

/// Collects the fields that are not skipped.
struct Collect<'a> {
    skip: &'a [&'a str],
    map: Map<String, Value>,
}

fn not_a_struct() -> serde_json::Error {
    ser::Error::custom("only a struct's fields can be split")
}

macro_rules! refuse {
    ($($name:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $name(self, $(_: $arg),*) -> Result<Self::Ok, Self::Error> { Err(not_a_struct()) })*
    };
}

impl<'a> ser::Serializer for Fields<'a> {
    type Ok = Map<String, Value>;
    type Error = serde_json::Error;
    type SerializeSeq = Impossible<Self::Ok, Self::Error>;
    type SerializeTuple = Impossible<Self::Ok, Self::Error>;
    type SerializeTupleStruct = Impossible<Self::Ok, Self::Error>;
    type SerializeTupleVariant = Impossible<Self::Ok, Self::Error>;
    type SerializeMap = Impossible<Self::Ok, Self::Error>;
    type SerializeStruct = Collect<'a>;
    type SerializeStructVariant = Impossible<Self::Ok, Self::Error>;

    fn serialize_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, Self::Error> {
        Ok(Collect {
            skip: self.skip,
            map: Map::with_capacity(len),
        })
    }

    refuse!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<Self::Ok, Self::Error> {
        Err(not_a_struct())
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Self::Ok, Self::Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Self::Ok, Self::Error> {
        Err(not_a_struct())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Self::Error> {
        Err(not_a_struct())
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Self::Error> {
        Err(not_a_struct())
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Self::Error> {
        Err(not_a_struct())
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Self::Error> {
        Err(not_a_struct())
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Self::Error> {
        Err(not_a_struct())
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Self::Error> {
        Err(not_a_struct())
    }
}

impl ser::SerializeStruct for Collect<'_> {
    type Ok = Map<String, Value>;
    type Error = serde_json::Error;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        if !self.skip.contains(&key) {
            self.map
                .insert(key.to_string(), serde_json::to_value(value)?);
        }
        Ok(())
    }

    fn end(self) -> Result<Self::Ok, Self::Error> {
        Ok(self.map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Doc {
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        absent: Option<u8>,
        big: Vec<u32>,
        nested: Map<String, Value>,
    }

    #[test]
    fn every_field_but_the_skipped_ones_as_serde_would_write_it() {
        let doc = Doc {
            name: "a".into(),
            absent: None,
            big: vec![1, 2, 3],
            nested: Map::from_iter([("k".to_string(), Value::Null)]),
        };
        let fields = to_object_without(&doc, &["big"]).expect("a struct");
        let mut whole = serde_json::to_value(&doc).expect("json");
        whole.as_object_mut().expect("object").remove("big");
        assert_eq!(Value::Object(fields), whole);
        assert!(to_object_without(&[1, 2], &[]).is_err());
    }
}

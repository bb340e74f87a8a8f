//! Exposing an intermediate tensor of an ONNX model as an extra graph output, without an ONNX
//! library.
//!
//! Piper's graph computes each phoneme's duration (`/Ceil_output_0`) but does not output it.
//! Rather than decode and re-encode the whole 60 MB protobuf, this relies on a rule of the
//! protobuf wire format: when a message field occurs twice, a parser merges the two, and
//! repeated fields inside concatenate. So appending one more `ModelProto.graph` field holding
//! only a `GraphProto.output` entry (a `ValueInfoProto` with just a name) adds an output and
//! leaves everything else as it was. ONNX Runtime infers the output's type from the node that
//! produces it.

/// `ModelProto.graph` (field 7).
const MODEL_GRAPH: u32 = 7;
/// `GraphProto.output` (field 12).
const GRAPH_OUTPUT: u32 = 12;
/// `ValueInfoProto.name` (field 1).
const VALUE_INFO_NAME: u32 = 1;

/// Returns `model` (a serialised `ModelProto`) with `tensor` added as a graph output.
pub(crate) fn with_extra_output(model: &[u8], tensor: &str) -> Vec<u8> {
    let value_info = length_delimited(VALUE_INFO_NAME, tensor.as_bytes());
    let graph = length_delimited(GRAPH_OUTPUT, &value_info);
    let field = length_delimited(MODEL_GRAPH, &graph);
    let mut out = Vec::with_capacity(model.len() + field.len());
    out.extend_from_slice(model);
    out.extend_from_slice(&field);
    out
}

/// One length-delimited field (wire type 2): key, length, payload.
fn length_delimited(field: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 12);
    varint(&mut out, (u64::from(field) << 3) | 2);
    varint(&mut out, payload.len() as u64);
    out.extend_from_slice(payload);
    out
}

/// Protobuf's base-128 varint: seven bits at a time, low first, high bit set on all but the
/// last byte.
fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_the_protobuf_encoding() {
        let encode = |v| {
            let mut out = Vec::new();
            varint(&mut out, v);
            out
        };
        assert_eq!(encode(0), [0x00]);
        assert_eq!(encode(1), [0x01]);
        assert_eq!(encode(127), [0x7f]);
        // The protobuf documentation's own example: 150 is 96 01.
        assert_eq!(encode(150), [0x96, 0x01]);
        assert_eq!(encode(300), [0xac, 0x02]);
    }

    #[test]
    fn the_appended_field_nests_model_graph_output_name() {
        let out = with_extra_output(b"MODEL", "/Ceil_output_0");
        assert_eq!(&out[..5], b"MODEL");
        let name = b"/Ceil_output_0";
        let mut expected = vec![0x3a, (name.len() + 4) as u8, 0x62, (name.len() + 2) as u8];
        expected.extend_from_slice(&[0x0a, name.len() as u8]);
        expected.extend_from_slice(name);
        assert_eq!(&out[5..], &expected[..]);
    }
}

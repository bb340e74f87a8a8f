//! The built-in presenters, by name.

use super::design::{Design, Hair, Outfit, Palette};
use crate::draw::rgb;

/// The three built-in presenters.
pub(crate) fn design(name: &str) -> Option<Design> {
    Some(match name {
        "avatar_1" => Design {
            palette: Palette {
                skin: rgb(0xeec4a2),
                lip: rgb(0xc47a72),
                hair: rgb(0x3a281e),
                hair_light: rgb(0x7a5842),
                iris: rgb(0x6a4428),
                brow: rgb(0x3a281e),
                clothing: rgb(0x283a5c),
                shirt: rgb(0xf3f5f8),
                accent: rgb(0xa8363f),
            },
            hair: Hair::SidePart,
            outfit: Outfit::Blazer,
            face_half_w: 74.0,
            neck_half_w: 29.0,
            shoulders: 1.0,
            lash: 2.0,
            wing: false,
            brow: 1.4,
            glasses: false,
        },
        "avatar_2" => Design {
            palette: Palette {
                skin: rgb(0xcf9570),
                lip: rgb(0xb4555a),
                hair: rgb(0x74301f),
                hair_light: rgb(0xb8623f),
                iris: rgb(0x55703c),
                brow: rgb(0x4e2418),
                clothing: rgb(0x1f7f7c),
                shirt: rgb(0xffffff),
                accent: rgb(0xe2b85e),
            },
            hair: Hair::LongWavy,
            outfit: Outfit::Blouse,
            face_half_w: 70.0,
            neck_half_w: 25.0,
            shoulders: 0.9,
            lash: 2.6,
            wing: true,
            brow: 0.6,
            glasses: false,
        },
        "avatar_3" => Design {
            palette: Palette {
                skin: rgb(0x8a5436),
                lip: rgb(0x6a3332),
                hair: rgb(0x211815),
                hair_light: rgb(0x54433a),
                iris: rgb(0x3a2416),
                brow: rgb(0x1d1512),
                clothing: rgb(0xd29a30),
                shirt: rgb(0xdce8f4),
                accent: rgb(0x2a2a30),
            },
            hair: Hair::Curly,
            outfit: Outfit::Sweater,
            face_half_w: 76.0,
            neck_half_w: 31.0,
            shoulders: 1.04,
            lash: 2.0,
            wing: false,
            brow: 1.6,
            glasses: true,
        },
        _ => return None,
    })
}

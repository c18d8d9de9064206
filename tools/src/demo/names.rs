//! Plausible Chinese names for people, shops and addresses.

use rand::seq::SliceRandom;
use rand::Rng;

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "霞", "平", "刚", "桂英", "华", "建国", "志强", "海燕", "红", "建华", "文", "斌",
    "晓东", "国平", "春梅", "玉兰", "德明", "小红",
];
const SHOP_KINDS: &[&str] = &[
    "便利店",
    "烟酒店",
    "超市",
    "商店",
    "百货",
    "副食店",
    "烟酒行",
    "小卖部",
    "批发部",
    "商行",
];
const SHOP_PREFIXES: &[&str] = &[
    "好又多",
    "万家",
    "联华",
    "惠民",
    "兴旺",
    "福满多",
    "佳佳",
    "顺发",
    "金盛",
    "红星",
    "家乐",
    "如意",
];
const STREETS: &[&str] = &[
    "解放路",
    "人民路",
    "建设街",
    "中山路",
    "新华街",
    "光明路",
    "和平路",
    "胜利街",
    "文化路",
    "车站路",
    "东风路",
    "青年路",
];

fn pick<'a>(rng: &mut impl Rng, list: &'a [&'a str]) -> &'a str {
    list.choose(rng).copied().unwrap_or("")
}

pub fn person(rng: &mut impl Rng) -> String {
    format!("{}{}", pick(rng, SURNAMES), pick(rng, GIVEN))
}

pub fn shop_name(rng: &mut impl Rng) -> String {
    if rng.gen_bool(0.5) {
        format!("{}{}", pick(rng, SHOP_PREFIXES), pick(rng, SHOP_KINDS))
    } else {
        format!(
            "{}{}{}",
            pick(rng, SURNAMES),
            pick(rng, GIVEN),
            pick(rng, SHOP_KINDS)
        )
    }
}

pub fn address(rng: &mut impl Rng) -> String {
    format!("{}{}号", pick(rng, STREETS), rng.gen_range(1..400))
}

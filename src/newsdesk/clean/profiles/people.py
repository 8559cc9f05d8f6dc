"""People's Daily Online (人民网): *.people.com.cn, people.cn.

Body in #rwb_zw (.box_con); 来源 in .box01; 责编 in .edit; pager (.zdfy) and the
"点击进入…" channel promo inside the body.
"""

PROFILE = {
    "name": "people",
    "hosts": ["people.com.cn", "people.cn"],
    "markers": ['id="rwb_zw"'],
    "body": ["#rwb_zw", ".rm_txt_con", ".box_con", "#p_content", ".show_text"],
    "drop_between": [],
    "drop": [".zdfy", ".box_pic", ".edit", "center", ".otitle", "#rwb_tjyd", ".message", "#ops_share"],
    "unwrap": [],
    "figures": [],
    "drop_text": [r"^点击进入.{0,20}(>>|》)?$", r"^(上一页|下一页|【\d+】)"],
    "image_block": [r"/img/next_page\.jpg", r"/img/prev_page\.jpg"],
    "editor": [".edit"],
    "source": [".box01 .fl a", ".col-1-1 a", "meta[name=source]"],
    "reporters": [],
    "comment_source": None,
    "comment_keywords": None,
}

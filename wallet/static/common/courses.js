// @ts-check
/* Genba ID: the course catalogue for the browser, GENERATED from common/courses.json by
 * `python -m common.courses`; do not edit (tests/unit/common/test_courses.py fails when stale). */

/** @type {Record<string, [string, string]>} course code -> [ja, en] */
export const COURSES = {
  "tamakake": [
    "玉掛け技能講習",
    "sling work (tamakake)"
  ],
  "kogata-idoshiki-crane": [
    "小型移動式クレーン運転技能講習",
    "small mobile crane"
  ],
  "forklift": [
    "フォークリフト運転技能講習",
    "forklift"
  ],
  "sharyokei-seichi-kussaku": [
    "車両系建設機械(整地・運搬・積込み用及び掘削用)運転技能講習",
    "construction machinery (levelling, hauling, loading and excavation)"
  ],
  "sharyokei-kaitai": [
    "車両系建設機械(解体用)運転技能講習",
    "construction machinery (demolition)"
  ],
  "kosho-sagyosha": [
    "高所作業車運転技能講習",
    "aerial work platform"
  ],
  "fuseichi-unpansha": [
    "不整地運搬車運転技能講習",
    "rough-terrain carrier"
  ],
  "gas-yosetsu": [
    "ガス溶接技能講習",
    "gas welding"
  ],
  "ashiba-shunin": [
    "足場の組立て等作業主任者技能講習",
    "scaffolding chief"
  ],
  "jiyama-dodome-shunin": [
    "地山の掘削及び土止め支保工作業主任者技能講習",
    "excavation and earth-retaining chief"
  ],
  "katawaku-shiho-shunin": [
    "型枠支保工の組立て等作業主任者技能講習",
    "formwork support chief"
  ],
  "full-harness-tokubetsu": [
    "フルハーネス型墜落制止用器具特別教育",
    "full-body harness"
  ],
  "ashiba-tokubetsu": [
    "足場の組立て等特別教育",
    "scaffolding work"
  ],
  "kogata-sharyokei-tokubetsu": [
    "小型車両系建設機械特別教育",
    "small construction machinery"
  ],
  "tamakake-1t-miman-tokubetsu": [
    "玉掛け(1t未満)特別教育",
    "sling work under 1 t"
  ]
};
/** @type {Record<string, [string, string, string[]]>} kind of work -> [ja, en, the courses it needs] */
export const WORK_KINDS = {
  "general": [
    "一般作業",
    "general work",
    []
  ],
  "crane": [
    "クレーン作業",
    "crane work",
    [
      "tamakake",
      "kogata-idoshiki-crane"
    ]
  ],
  "height": [
    "高所作業",
    "work at height",
    [
      "full-harness-tokubetsu"
    ]
  ]
};

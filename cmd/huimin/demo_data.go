package main

// The demo's registry: real counties of Nanyang with some of their real
// townships, villages named as Henan villages are, and Chinese names drawn
// from common surnames. None of it is a real person: the resident ids are
// made for the demo (valid GB 11643 check digits, birth dates in range).

// demoTownships are real townships (乡镇/街道) of each county (GB/T 2260).
var demoTownships = map[string][]string{
	"411302": {"瓦店镇", "红泥湾镇", "黄台岗镇", "汉冢乡"},
	"411303": {"潦河镇", "安皋镇", "蒲山镇", "石桥镇"},
	"411321": {"皇后乡", "板山坪镇", "乔端镇", "白土岗镇"},
	"411322": {"拐河镇", "独树镇", "博望镇", "赵河镇"},
	"411323": {"丹水镇", "西坪镇", "双龙镇", "丁河镇"},
	"411324": {"石佛寺镇", "晁陂镇", "贾宋镇", "高丘镇"},
	"411325": {"夏馆镇", "师岗镇", "马山口镇", "赤眉镇"},
	"411326": {"荆紫关镇", "老城镇", "香花镇", "盛湾镇"},
	"411327": {"桥头镇", "饶良镇", "兴隆镇", "苗店镇"},
	"411328": {"源潭镇", "郭滩镇", "湖阳镇", "黑龙镇"},
	"411329": {"王庄镇", "沙堰镇", "施庵镇", "歪子镇"},
	"411330": {"淮源镇", "月河镇", "吴城镇", "平氏镇"},
	"411381": {"罗庄镇", "汲滩镇", "穰东镇", "孟楼镇"},
}

// demoCountyOrder is the counties in GB/T 2260 order.
var demoCountyOrder = []string{"411302", "411303", "411321", "411322", "411323", "411324", "411325",
	"411326", "411327", "411328", "411329", "411330", "411381"}

var demoVillages = []string{"王庄村", "李营村", "张湾村", "刘岗村", "陈庄村", "杨楼村", "赵河村", "孙岗村",
	"周营村", "吴湾村", "郑庄村", "马岗村", "黄楼村", "朱湾村", "何庄村", "高营村"}

var demoSurnames = []string{"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗"}

var demoGiven = []string{"建国", "秀英", "桂兰", "国强", "玉梅", "志刚", "春华", "德胜", "淑芬", "红霞",
	"海涛", "明亮", "丽娟", "永福", "金凤", "文杰", "凤英", "小军", "晓燕", "长林", "子涵", "浩然", "雨桐", "天佑"}

// demoBanks are the banks that carry 一卡通 accounts in the counties.
var demoBanks = []string{"河南省农村信用社", "中国农业银行南阳分行", "中国邮政储蓄银行南阳市分行", "中国工商银行南阳分行"}

// demoCooperatives are the CYB operators: cooperatives and farms of the
// programme's industries.
var demoCooperatives = []struct {
	name, county, industry string
}{
	{"内乡县宛西月季种植专业合作社", "411325", "rose"},
	{"西峡县伏牛山香菇茶叶专业合作社", "411323", "tea"},
	{"桐柏县淮源中药材种植专业合作社", "411330", "herb"},
	{"南召县板山坪蜂业专业合作社", "411321", "bee"},
	{"淅川县丹江口茶园家庭农场", "411326", "tea"},
	{"镇平县石佛寺艾草种植专业合作社", "411324", "herb"},
}

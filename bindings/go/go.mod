module libsticky/sticky

go 1.19

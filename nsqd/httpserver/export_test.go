package httpserver

// MPUBBody is mpubBody for the HTTP tests of package httpserver_test.
var MPUBBody = mpubBody

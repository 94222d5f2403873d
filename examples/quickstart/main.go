// Command quickstart shows modelroute's packages working together.
package main

import "fmt"

func main() {
	fmt.Println("modelroute quickstart: the alias Registry and Router examples land here")
}
